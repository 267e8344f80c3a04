#!/usr/bin/python3
"""Train logitlab's embedded default model: a small Llama on the King James Bible.

Dev-time tool (not runtime). Needs Debian's python3-torch, python3-sentencepiece,
python3-numpy, python3-matplotlib, libopenblas0-pthread (fast BLAS for torch) and
bible-kjv; run it with Debian's interpreter: /usr/bin/python3 tools/train_kjv.py.

Steps, all seeded:
  1. corpus: `bible gen1:1-rev22:21`, verse numbers and chapter headings removed,
     one verse per line, chapters separated by a blank line;
  2. split: every 40th chapter is validation, the rest training;
  3. tokenizer: SentencePiece BPE, 4096 pieces, byte fallback (Llama conventions:
     <unk>=0, <s>=1, </s>=2, a dummy prefix space);
  4. model: Llama (RMSNorm, RoPE on adjacent pairs as Meta's code and GGUF
     'llama' expect, grouped-query attention, SwiGLU, tied embeddings);
  5. training: AdamW, warmup then cosine decay; the checkpoint with the best
     validation loss is kept;
  6. export: a llama2.c checkpoint (fp32, legacy format) and tokenizer.bin, which
     `logitlab convert` turns into the GGUF that ships in models/.

Outputs go to tools/train_out/ (not committed): corpus, tokenizer, checkpoints,
loss log (CSV) and the loss-curve plot copied to docs/.
"""

import argparse
import csv
import math
import os
import random
import re
import struct
import subprocess
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- corpus

def kjv_chapters():
    """Returns a list of chapters, each a list of verse strings."""
    raw = subprocess.run(["bible", "gen1:1-rev22:21"], capture_output=True, text=True, check=True).stdout
    chapters, verses, cur = [], [], None
    for line in raw.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" ") and re.match(r"^[1-3]?\s?[A-Za-z ]+ \d+$", line.strip()):
            if cur is not None:
                verses.append(cur)
            if verses:
                chapters.append(verses)
            verses, cur = [], None
            continue
        m = re.match(r"^\s+(\d+) (.*)$", line)
        if m:
            if cur is not None:
                verses.append(cur)
            cur = m.group(2).strip()
        elif cur is not None:
            cur += " " + line.strip()
    if cur is not None:
        verses.append(cur)
    if verses:
        chapters.append(verses)
    return chapters


# ---------------------------------------------------------------- model

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, seq_len, theta):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))
    ang = torch.outer(torch.arange(seq_len).float(), inv)
    return torch.cos(ang), torch.sin(ang)


def apply_rope(x, cos, sin):
    # x: (B, T, H, D); rotate adjacent pairs (x0, x1), (x2, x3), ...
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    out = torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1)
    return out.flatten(-2)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, h, kv = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"]
        self.h, self.kv, self.hd = h, kv, d // h
        self.attn_norm = RMSNorm(d, cfg["norm_eps"])
        self.wq = nn.Linear(d, h * self.hd, bias=False)
        self.wk = nn.Linear(d, kv * self.hd, bias=False)
        self.wv = nn.Linear(d, kv * self.hd, bias=False)
        self.wo = nn.Linear(h * self.hd, d, bias=False)
        self.ffn_norm = RMSNorm(d, cfg["norm_eps"])
        self.w1 = nn.Linear(d, cfg["hidden_dim"], bias=False)
        self.w2 = nn.Linear(cfg["hidden_dim"], d, bias=False)
        self.w3 = nn.Linear(d, cfg["hidden_dim"], bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        y = self.attn_norm(x)
        q = apply_rope(self.wq(y).view(B, T, self.h, self.hd), cos, sin)
        k = apply_rope(self.wk(y).view(B, T, self.kv, self.hd), cos, sin)
        v = self.wv(y).view(B, T, self.kv, self.hd)
        rep = self.h // self.kv
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        x = x + self.wo((att @ v).transpose(1, 2).reshape(B, T, -1))
        y = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(y)) * self.w3(y))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg["vocab"], cfg["dim"])
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg["n_layers"]))
        self.norm = RMSNorm(cfg["dim"], cfg["norm_eps"])
        cos, sin = rope_tables(cfg["dim"] // cfg["n_heads"], cfg["seq_len"], cfg["rope_theta"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * cfg["n_layers"]) if name.endswith(("wo.weight", "w2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok(idx)
        for b in self.blocks:
            x = b(x, self.cos[:T], self.sin[:T])
        return self.norm(x) @ self.tok.weight.t()  # tied classifier


# ---------------------------------------------------------------- export

def export_llama2c(model, path):
    """llama2.c legacy (version 0) checkpoint; positive vocab_size = shared classifier."""
    c = model.cfg
    with open(path, "wb") as f:
        f.write(struct.pack("7i", c["dim"], c["hidden_dim"], c["n_layers"], c["n_heads"], c["n_kv_heads"],
                            c["vocab"], c["seq_len"]))

        def w(t):
            f.write(t.detach().float().contiguous().numpy().astype("<f4").tobytes())

        w(model.tok.weight)
        for b in model.blocks: w(b.attn_norm.weight)
        for b in model.blocks: w(b.wq.weight)
        for b in model.blocks: w(b.wk.weight)
        for b in model.blocks: w(b.wv.weight)
        for b in model.blocks: w(b.wo.weight)
        for b in model.blocks: w(b.ffn_norm.weight)
        for b in model.blocks: w(b.w1.weight)
        for b in model.blocks: w(b.w2.weight)
        for b in model.blocks: w(b.w3.weight)
        w(model.norm.weight)
        hd = c["dim"] // c["n_heads"]
        w(model.cos[:, : hd // 2])  # freq_cis_real/imag: unused by readers, kept for the format
        w(model.sin[:, : hd // 2])


def export_tokenizer_bin(sp, path):
    """llama2.c tokenizer.bin: max token length, then (score, length, bytes) per piece."""
    pieces = []
    for i in range(sp.get_piece_size()):
        p = sp.id_to_piece(i)
        if i == sp.bos_id():
            p = "\n<s>\n"
        elif i == sp.eos_id():
            p = "\n</s>\n"
        p = p.replace("\u2581", " ")
        pieces.append((p.encode("utf-8"), sp.get_score(i)))
    with open(path, "wb") as f:
        f.write(struct.pack("I", max(len(b) for b, _ in pieces)))
        for b, s in pieces:
            f.write(struct.pack("fI", s, len(b)))
            f.write(b)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "train_out"))
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1611)  # the year of the KJV
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    chapters = kjv_chapters()
    train_ch = [c for i, c in enumerate(chapters) if i % 40 != 39]
    val_ch = [c for i, c in enumerate(chapters) if i % 40 == 39]
    print(f"{len(chapters)} chapters, {sum(len(c) for c in chapters)} verses; "
          f"{len(train_ch)} train / {len(val_ch)} validation chapters", flush=True)
    verse_file = os.path.join(args.out, "kjv_train_verses.txt")
    with open(verse_file, "w") as f:
        for c in train_ch:
            for v in c:
                f.write(v + "\n")

    prefix = os.path.join(args.out, "kjv_tok")
    spm.SentencePieceTrainer.train(
        input=verse_file, model_prefix=prefix, model_type="bpe", vocab_size=4096, byte_fallback=True,
        character_coverage=1.0, split_digits=True, allow_whitespace_only_pieces=True,
        normalization_rule_name="identity", unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=args.threads, seed_sentencepiece_size=1000000, input_sentence_size=0,
        shuffle_input_sentence=False, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")

    def encode_chapters(chs):
        ids = []
        for c in chs:
            ids.append(sp.bos_id())
            ids.extend(sp.encode("\n".join(c) + "\n"))
        return torch.tensor(ids, dtype=torch.long)

    train_ids, val_ids = encode_chapters(train_ch), encode_chapters(val_ch)
    print(f"tokens: {len(train_ids)} train, {len(val_ids)} validation", flush=True)

    cfg = dict(dim=256, hidden_dim=704, n_layers=6, n_heads=8, n_kv_heads=4, vocab=sp.get_piece_size(),
               seq_len=256, norm_eps=1e-5, rope_theta=10000.0)
    model = Llama(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {cfg}, {n_params} parameters", flush=True)

    gen = torch.Generator().manual_seed(args.seed)

    def batch(data, B):
        ix = torch.randint(0, len(data) - cfg["seq_len"] - 1, (B,), generator=gen)
        x = torch.stack([data[i:i + cfg["seq_len"]] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + cfg["seq_len"]] for i in ix])
        return x, y

    # a fixed validation set: every window start a seq_len apart
    starts = list(range(0, len(val_ids) - cfg["seq_len"] - 1, cfg["seq_len"]))
    val_x = torch.stack([val_ids[i:i + cfg["seq_len"]] for i in starts])
    val_y = torch.stack([val_ids[i + 1:i + 1 + cfg["seq_len"]] for i in starts])

    @torch.no_grad()
    def val_loss():
        model.eval()
        tot, n = 0.0, 0
        for i in range(0, len(val_x), 32):
            lg = model(val_x[i:i + 32])
            tot += F.cross_entropy(lg.reshape(-1, lg.size(-1)), val_y[i:i + 32].reshape(-1), reduction="sum").item()
            n += val_y[i:i + 32].numel()
        model.train()
        return tot / n

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    warmup = 100

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        t = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    log_path = os.path.join(args.out, "loss.csv")
    best = float("inf")
    with open(log_path, "w", newline="") as logf:
        log = csv.writer(logf)
        log.writerow(["step", "train_loss", "val_loss", "lr", "seconds"])
        t0 = time.time()
        run = None
        for step in range(args.steps + 1):
            if step % args.eval_every == 0 or step == args.steps:
                vl = val_loss()
                log.writerow([step, f"{run:.4f}" if run else "", f"{vl:.4f}", f"{lr_at(step):.6f}",
                              f"{time.time() - t0:.0f}"])
                logf.flush()
                print(f"step {step}: train {run if run else float('nan'):.4f} val {vl:.4f} "
                      f"({time.time() - t0:.0f}s)", flush=True)
                if vl < best:
                    best = vl
                    torch.save({"cfg": cfg, "model": model.state_dict(), "step": step, "val_loss": vl},
                               os.path.join(args.out, "best.pt"))
            if step == args.steps:
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            x, y = batch(train_ids, args.batch)
            lg = model(x)
            loss = F.cross_entropy(lg.reshape(-1, lg.size(-1)), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            run = loss.item() if run is None else 0.95 * run + 0.05 * loss.item()

    ck = torch.load(os.path.join(args.out, "best.pt"))
    model.load_state_dict(ck["model"])
    export_llama2c(model, os.path.join(args.out, "kjv.bin"))
    export_tokenizer_bin(sp, os.path.join(args.out, "kjv_tok.bin"))
    print(f"best validation loss {ck['val_loss']:.4f} at step {ck['step']}; exported kjv.bin and kjv_tok.bin",
          flush=True)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        rows = list(csv.DictReader(open(log_path)))
        s = [int(r["step"]) for r in rows]
        v = [float(r["val_loss"]) for r in rows]
        tr = [(int(r["step"]), float(r["train_loss"])) for r in rows if r["train_loss"]]
        plt.figure(figsize=(7, 4))
        plt.plot([a for a, _ in tr], [b for _, b in tr], label="train (EMA)")
        plt.plot(s, v, label="validation")
        plt.xlabel("step")
        plt.ylabel("cross-entropy (nats/token)")
        plt.title("KJV default model")
        plt.legend()
        plt.grid(alpha=0.3)
        plt.tight_layout()
        plt.savefig(os.path.join(args.out, "loss.png"), dpi=120)
    except Exception as e:  # the plot is documentation, not a result
        print("plot failed:", e, file=sys.stderr)


if __name__ == "__main__":
    main()

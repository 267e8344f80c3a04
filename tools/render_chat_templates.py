#!/usr/bin/python3
"""render_chat_templates.py - renders real chat templates with a real Jinja
engine, as test data for ll_chat_apply (tests/test_chat.c, docs/chat.md).

A dev-time tool: its output, tests/data/chat/jinja_renders.json, is committed
and the C test compares ll_chat_apply's output with it byte for byte, so the
test itself needs no Python. Run it again after changing the conversations or
the templates below:

    /usr/bin/python3 tools/render_chat_templates.py [../shared]

It uses Debian's python3-jinja2 (apt-get install -y python3-jinja2) with the
environment Hugging Face transformers renders chat templates in
(apply_chat_template): a sandboxed environment with trim_blocks and
lstrip_blocks, the loopcontrols extension, raise_exception() and tojson.
strftime_now is not defined, so the Llama 3.x templates take their literal
default date.

Templates rendered:
  - the tokenizer.chat_template of each ../shared/models/arch/*-F32.gguf
    (the quantized files carry the same text), read with a small GGUF reader
    below;
  - three published templates that have no model file here, kept as data:
    meta-llama/Llama-2-7b-chat-hf, mistralai/Mistral-7B-Instruct-v0.2 (the
    same text as Mixtral-8x7B-Instruct-v0.1) and HuggingFaceH4/zephyr-7b-beta.

For each template and conversation the output records either the rendered
string ("result") or the template's own exception ("error"), with the
bos_token / eos_token texts it was rendered with.
"""
import glob
import json
import os
import struct
import sys

import jinja2
import jinja2.ext
import jinja2.sandbox

# bos_token / eos_token as the family's tokenizer_config.json names them.
TOKENS = {
    "llama3": ("<|begin_of_text|>", "<|eot_id|>"),
    "qwen2": ("", "<|im_end|>"),
    "qwen3": ("", "<|im_end|>"),
    "gemma2": ("<bos>", "<eos>"),
    "gemma3": ("<bos>", "<eos>"),
    "phi3": ("<s>", "<|endoftext|>"),
    "llama2": ("<s>", "</s>"),
    "mistral": ("<s>", "</s>"),
    "zephyr": ("<s>", "</s>"),
}

# Published templates without a model file here (data, as published).
PUBLISHED = {
    "llama2": (
        "meta-llama/Llama-2-7b-chat-hf",
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
        "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}"
        "{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
        "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
        "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
        "{% endfor %}",
    ),
    "mistral": (
        "mistralai/Mistral-7B-Instruct-v0.2",
        "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
        "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
    ),
    "zephyr": (
        "HuggingFaceH4/zephyr-7b-beta",
        "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
        "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}"
        "\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
        "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n"
        "{% endfor %}",
    ),
}


def M(role, content):
    return {"role": role, "content": content}


SYS = M("system", "You are a helpful assistant.")
# (name, messages): each rendered with and without the generation prompt.
CONVERSATIONS = [
    ("system_user_assistant_user", [SYS, M("user", "Hello!"), M("assistant", "Hi there."), M("user", "Tell me a story.")]),
    ("user", [M("user", "Hello!")]),
    ("system_user", [SYS, M("user", "Hello!")]),
    ("user_assistant_user", [M("user", "Hello!"), M("assistant", "Hi there."), M("user", "Tell me a story.")]),
    ("ends_with_assistant", [SYS, M("user", "Hello!"), M("assistant", "Hi there.")]),
    # whitespace the templates trim (or not): ASCII and Unicode (NBSP, ideographic space)
    ("whitespace", [M("system", "  Be brief.  \n"), M("user", " \u00a0Hi\t\n"), M("assistant", "  Hello there!  \n"),
                    M("user", "Why?\u3000")]),
    ("think", [M("user", "2+2?"), M("assistant", "<think>\nadd them\n</think>\n\n4"), M("user", "3+3?"),
               M("assistant", "<think>\nagain\n</think>\n\n6")]),
    ("empty_system", [M("system", ""), M("user", "Hello!")]),
    ("system_later", [M("user", "Hello!"), M("system", "Be terse."), M("user", "Hi.")]),
    ("long_multiturn", [SYS, M("user", "a"), M("assistant", "b"), M("user", "c"), M("assistant", "d"),
                        M("user", "e"), M("assistant", "f"), M("user", "g")]),
]


def read_chat_template(path):
    """tokenizer.chat_template of a GGUF file (v2/v3), or None."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:4] != b"GGUF":
        raise ValueError(path + ": not a GGUF file")
    off = 8
    n_tensors, n_kv = struct.unpack_from("<QQ", b, off)
    off += 16
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def rstr(o):
        (n,) = struct.unpack_from("<Q", b, o)
        return b[o + 8:o + 8 + n], o + 8 + n

    def skip(t, o):
        if t == 8:
            return rstr(o)
        if t == 9:
            at, n = struct.unpack_from("<IQ", b, o)
            o += 12
            for _ in range(n):
                _, o = skip(at, o)
            return None, o
        return None, o + sizes[t]

    for _ in range(n_kv):
        key, off = rstr(off)
        (t,) = struct.unpack_from("<I", b, off)
        val, off = skip(t, off + 4)
        if key == b"tokenizer.chat_template":
            return val.decode("utf-8")
    return None


def environment():
    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared")
    templates = []
    for path in sorted(glob.glob(os.path.join(shared, "models", "arch", "synth-a1-*-F32.gguf"))):
        arch = os.path.basename(path)[len("synth-a1-"):-len("-F32.gguf")]
        templates.append((arch, "models/arch/" + os.path.basename(path), read_chat_template(path)))
    for fam, (source, text) in PUBLISHED.items():
        templates.append((fam, source, text))

    env = environment()
    out = {"format": "logitlab-chat-jinja-v1", "jinja2_version": jinja2.__version__,
           "environment": "ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols)",
           "templates": []}
    for name, source, text in templates:
        bos, eos = TOKENS[name]
        tmpl = env.from_string(text)
        cases = []
        for conv_name, msgs in CONVERSATIONS:
            for gen in (True, False):
                case = {"conversation": conv_name, "messages": msgs, "add_generation_prompt": gen}
                try:
                    case["result"] = tmpl.render(messages=msgs, add_generation_prompt=gen, bos_token=bos,
                                                 eos_token=eos)
                except jinja2.exceptions.TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
        out["templates"].append({"name": name, "source": source, "bos_token": bos, "eos_token": eos,
                                 "template": text, "cases": cases})
    dest = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "chat",
                        "jinja_renders.json")
    with open(dest, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    n = sum(len(t["cases"]) for t in out["templates"])
    print("wrote %s: %d templates, %d renderings" % (os.path.normpath(dest), len(templates), n))


if __name__ == "__main__":
    main()

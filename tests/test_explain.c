/*
 * test_explain.c - `logitlab explain` as a person uses it, through a
 * pseudo-terminal: the tour opens lessons by the menu (by number and by
 * name), takes the user's own value and prompt, goes deeper (the code
 * stepped through on the numbers), and quits. Every screen is checked
 * against an independent computation:
 *  - the numbers: each stage lesson prints the `logitlab inspect` command
 *    that gives the same numbers; the test runs it (--json) and finds the
 *    stage's counts, mass removed, entropies and the probabilities of its
 *    top tokens on the screen;
 *  - the source: every shown line "N | text" must be line N of the named
 *    file in this source tree, and the block must start at the function's
 *    definition or its comment.
 * Also: every lesson runs non-interactively (with --more and --step), EOF
 * and Ctrl-C end the tour cleanly, colour follows NO_COLOR.
 *
 * usage: test_explain path/to/logitlab path/to/source-root
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "util/json.h"

static const char *bin, *root;

/* ---- running a command and capturing its stdout ---- */

static char *run_capture(char *const argv[], int *status) {
    int fd[2];
    if (pipe(fd) != 0) return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        close(fd[0]);
        close(fd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    ssize_t r;
    while ((r = read(fd[0], buf + n, cap - n)) > 0) {
        n += (size_t)r;
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    close(fd[0]);
    buf[n] = '\0';
    waitpid(pid, status, 0);
    return buf;
}

/* ---- a session on a pseudo-terminal ---- */

typedef struct {
    int master;
    pid_t pid;
    char *all; /* everything the tour printed, ANSI escapes removed */
    size_t n, cap;
} session;

static void append_clean(session *s, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s->n + 2 >= s->cap) s->all = realloc(s->all, s->cap = s->cap * 2 + 4096);
        if (b[i] == '\033') { /* skip ESC [ ... letter */
            while (i < n && !((b[i] >= 'A' && b[i] <= 'Z') || (b[i] >= 'a' && b[i] <= 'z'))) i++;
            continue;
        }
        if (b[i] == '\r') continue;
        s->all[s->n++] = b[i];
    }
    s->all[s->n] = '\0';
}

static bool start(session *s, const char *no_color, int cols) {
    memset(s, 0, sizeof *s);
    s->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (s->master < 0 || grantpt(s->master) || unlockpt(s->master)) return false;
    struct winsize ws = {.ws_row = 50, .ws_col = (unsigned short)cols};
    ioctl(s->master, TIOCSWINSZ, &ws);
    const char *slave = ptsname(s->master);
    s->pid = fork();
    if (s->pid == 0) {
        setsid();
        int fd = open(slave, O_RDWR);
        ioctl(fd, TIOCSCTTY, 0);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(s->master);
        if (no_color) setenv("NO_COLOR", no_color, 1);
        else unsetenv("NO_COLOR");
        setenv("LANG", "C.UTF-8", 1);
        unsetenv("COLUMNS");
        execl(bin, bin, "explain", (char *)NULL);
        _exit(127);
    }
    return s->pid > 0;
}

/* Reads until the output ends with the tour's prompt "> " (or the child
 * exits); returns the text of this screen (from `from`). */
static const char *wait_prompt(session *s, size_t *from, int timeout_ms) {
    *from = s->n;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        /* the tour's prompt is "> " alone at the start of a line */
        if (s->n >= *from + 3 && !strcmp(s->all + s->n - 3, "\n> ")) break;
        struct pollfd p = {s->master, POLLIN, 0};
        int r = poll(&p, 1, 200);
        if (r > 0) {
            char b[8192];
            ssize_t k = read(s->master, b, sizeof b);
            if (k <= 0) break; /* the child closed the terminal */
            append_clean(s, b, (size_t)k);
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms) break;
    }
    return s->all + *from;
}

static const char *send(session *s, const char *line) {
    size_t from;
    (void)!write(s->master, line, strlen(line));
    (void)!write(s->master, "\n", 1);
    const char *screen = wait_prompt(s, &from, 60000);
    /* the terminal echoes the line; the screen is what follows it */
    return screen;
}

static int finish(session *s) {
    int status = -1;
    size_t from;
    wait_prompt(s, &from, 10000); /* drain */
    for (int i = 0; i < 100; i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) break;
        nanosleep(&(struct timespec){0, 50000000}, NULL);
        if (i == 99) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
        }
    }
    close(s->master);
    return status;
}

static void end_session(session *s) {
    free(s->all);
    s->all = NULL;
}

/* ---- checks ---- */

/* Every "  N | text" line must be line N of the file named by the last
 * "fn() - PATH, line L" header, and the block must start at or just above
 * the definition. Returns how many source lines were checked. */
static size_t check_sources(const char *screen, const char *what) {
    char path[512] = "", fn[128] = "";
    char *file = NULL;
    size_t checked = 0, blocks = 0;
    char **lines = NULL;
    size_t n_lines = 0;
    for (const char *p = screen; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        char *dash = strstr(line, "() - src/");
        if (dash) {
            /* a new block: "  name() - src/x.c, line 43 (...)" */
            char *name = line;
            while (*name == ' ') name++;
            snprintf(fn, sizeof fn, "%.*s", (int)(dash - name), name);
            char *start_path = dash + strlen("() - ");
            char *comma = strchr(start_path, ',');
            snprintf(path, sizeof path, "%.*s", comma ? (int)(comma - start_path) : 0, start_path);
            free(file);
            free(lines);
            char full[1024];
            snprintf(full, sizeof full, "%s/%s", root, path);
            size_t sz = 0;
            file = tu_read_file(full, &sz);
            lines = NULL;
            n_lines = 0;
            CHECK(file != NULL, "%s: the shown file %s exists", what, full);
            if (file) {
                lines = malloc((sz + 2) * sizeof *lines);
                for (char *q = file; q && *q;) {
                    lines[n_lines++] = q;
                    char *e = strchr(q, '\n');
                    if (!e) break;
                    *e = '\0';
                    q = e + 1;
                }
            }
            blocks++;
            bool first = true;
            /* the block's lines follow */
            const char *q = eol ? eol + 1 : p + len;
            while (*q) {
                const char *qe = strchr(q, '\n');
                size_t ql = qe ? (size_t)(qe - q) : strlen(q);
                char sl[2048];
                snprintf(sl, sizeof sl, "%.*s", (int)(ql < sizeof sl ? ql : sizeof sl - 1), q);
                unsigned no;
                int off = 0;
                if (sscanf(sl, " %u |%n", &no, &off) != 1 || off == 0) break;
                const char *text = sl + off;
                if (*text == ' ') text++;
                bool ok = lines && no >= 1 && no <= n_lines && strcmp(lines[no - 1], text) == 0;
                CHECK(ok, "%s: %s line %u is shown as '%s'", what, path, no, text);
                if (first) {
                    bool starts = strstr(text, fn) != NULL || strncmp(text, "/*", 2) == 0;
                    CHECK(starts, "%s: the %s() block starts at its definition or comment: '%s'", what, fn, text);
                    first = false;
                }
                checked++;
                q = qe ? qe + 1 : q + ql;
            }
            p = q;
            continue;
        }
        p = eol ? eol + 1 : p + len;
    }
    free(file);
    free(lines);
    CHECK(blocks > 0, "%s: the screen shows source", what);
    return checked;
}

/* Runs the screen's "same numbers: logitlab inspect ..." command and checks
 * the screen shows the stage's numbers. Returns the number of values matched. */
static size_t check_numbers(const char *screen, const char *what, const char *expect_flag) {
    const char *same = strstr(screen, "same numbers: logitlab inspect");
    if (same) same = strstr(same, " -p \"");
    CHECK(same != NULL, "%s: the screen names its inspect command", what);
    if (!same) return 0;
    const char *q = same + strlen(" -p \"");
    const char *qe = strchr(q, '"');
    char prompt[512];
    snprintf(prompt, sizeof prompt, "%.*s", (int)(qe - q), q);
    const char *eol = strchr(qe, '\n');
    char flags[512];
    snprintf(flags, sizeof flags, "%.*s", (int)(eol - qe - 1), qe + 1);
    if (expect_flag) CHECK(strstr(flags, expect_flag) != NULL, "%s: the value in use: '%s' in '%s'", what, expect_flag, flags);
    char *argv[40];
    int a = 0;
    argv[a++] = (char *)bin;
    argv[a++] = "inspect";
    argv[a++] = "-p";
    argv[a++] = prompt;
    for (char *tok = strtok(flags, " "); tok && a < 36; tok = strtok(NULL, " ")) argv[a++] = tok;
    argv[a++] = "--json";
    argv[a++] = "--top";
    argv[a++] = "64";
    argv[a] = NULL;
    int status;
    char *out = run_capture(argv, &status);
    ll_error err;
    lj_doc *d = lj_parse(out, strlen(out), &err);
    CHECK(d != NULL && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: inspect runs (%s)", what,
          d ? "" : err.message);
    size_t matched = 0;
    if (d) {
        const lj_value *stages = lj_get(lj_root(d), "stages");
        bool found = false;
        for (size_t i = 0; i < stages->n; i++) {
            const lj_value *st = stages->items[i];
            const char *name = lj_get(st, "stage")->str;
            char head[512];
            snprintf(head, sizeof head, "  %s: %d -> %d candidates, removed %.4f of the probability, entropy %.3f -> %.3f",
                     name, (int)lj_num(lj_get(st, "n_before")), (int)lj_num(lj_get(st, "n_after")),
                     lj_num(lj_get(st, "mass_removed")), lj_num(lj_get(st, "entropy_before")),
                     lj_num(lj_get(st, "entropy_after")));
            if (!strstr(screen, head)) continue;
            found = true;
            matched += 5;
            /* the top three tokens' probabilities before and after */
            const lj_value *before = lj_get(st, "top_before"), *after = lj_get(st, "top_after");
            for (size_t k = 0; k < 3 && k < before->n; k++) {
                char num[32];
                snprintf(num, sizeof num, "%.4f", (float)lj_num(lj_get(before->items[k], "p")));
                CHECK(strstr(screen, num) != NULL, "%s: p before %s of the #%zu token is on the screen", what, num, k + 1);
                matched++;
            }
            for (size_t k = 0; k < 3 && k < after->n; k++) {
                char num[32];
                snprintf(num, sizeof num, "%.4f", (float)lj_num(lj_get(after->items[k], "p")));
                CHECK(strstr(screen, num) != NULL, "%s: p after %s of the #%zu token is on the screen", what, num, k + 1);
                matched++;
            }
        }
        CHECK(found, "%s: the screen shows a stage with inspect's counts, mass and entropies", what);
        lj_free(d);
    }
    free(out);
    return matched;
}

/* The frameworks lesson prints the `logitlab compare` command that gives
 * its numbers: run it with --json and find each profile's selected token
 * and probability, its stages' counts, and each pair's first difference
 * on the screen. Returns the number of values matched. */
static size_t check_compare(const char *screen, const char *what) {
    const char *same = strstr(screen, "same numbers: logitlab compare");
    if (same) same = strstr(same, " -p \"");
    CHECK(same != NULL, "%s: the screen names its compare command", what);
    if (!same) return 0;
    const char *q = same + strlen(" -p \"");
    const char *qe = strchr(q, '"');
    char prompt[512], flags[512];
    snprintf(prompt, sizeof prompt, "%.*s", (int)(qe - q), q);
    const char *eol = strchr(qe, '\n');
    snprintf(flags, sizeof flags, "%.*s", (int)(eol - qe - 1), qe + 1);
    char *argv[40];
    int a = 0;
    argv[a++] = (char *)bin;
    argv[a++] = "compare";
    argv[a++] = "-p";
    argv[a++] = prompt;
    for (char *tok = strtok(flags, " "); tok && a < 37; tok = strtok(NULL, " ")) argv[a++] = tok;
    argv[a++] = "--json";
    argv[a] = NULL;
    int status;
    char *out = run_capture(argv, &status);
    ll_error err;
    lj_doc *d = lj_parse(out, strlen(out), &err);
    CHECK(d != NULL && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: compare runs (%s)", what, d ? "" : err.message);
    size_t matched = 0;
    if (d) {
        const lj_value *profs = lj_get(lj_root(d), "profiles");
        for (size_t i = 0; profs && i < profs->n; i++) {
            const lj_value *c = profs->items[i];
            const char *name = lj_get(c, "profile")->str;
            const lj_value *sel = lj_get(c, "selected");
            char line[128];
            snprintf(line, sizeof line, "    %-10s %6d ", name, (int)lj_num(lj_get(sel, "id")));
            CHECK(strstr(screen, line) != NULL, "%s: %s's selected token '%s' is on the screen", what, name, line);
            snprintf(line, sizeof line, "  p %.4f", (float)lj_num(lj_get(sel, "p")));
            CHECK(strstr(screen, line) != NULL, "%s: %s's selected p '%s' is on the screen", what, name, line);
            matched += 2;
            const lj_value *stages = lj_get(c, "stages");
            for (size_t k = 0; k < stages->n; k++) {
                const lj_value *st = stages->items[k];
                if (lj_get(st, "off")->b || lj_get(st, "selected")) continue;
                snprintf(line, sizeof line, "  %d -> %d", (int)lj_num(lj_get(st, "n_before")),
                         (int)lj_num(lj_get(st, "n_after")));
                CHECK(strstr(screen, line) != NULL, "%s: %s's stage %s counts '%s' on the screen", what, name,
                      lj_get(st, "stage")->str, line);
                matched++;
            }
        }
        const lj_value *diffs = lj_get(lj_root(d), "differences");
        for (size_t i = 0; diffs && i < diffs->n; i++) {
            const lj_value *x = diffs->items[i];
            char line[160];
            if (!strcmp(lj_get(x, "kind")->str, "same"))
                snprintf(line, sizeof line, "%s vs %s: no difference", lj_get(x, "a")->str, lj_get(x, "b")->str);
            else
                snprintf(line, sizeof line, "%s vs %s: step %d, %s", lj_get(x, "a")->str, lj_get(x, "b")->str,
                         (int)lj_num(lj_get(x, "step")), lj_get(x, "kind")->str);
            CHECK(strstr(screen, line) != NULL, "%s: the difference '%s' is on the screen", what, line);
            matched++;
        }
        CHECK(matched >= 10, "%s: compare's numbers found (%zu)", what, matched);
        lj_free(d);
    }
    free(out);
    return matched;
}

static bool has(const char *screen, const char *s) { return strstr(screen, s) != NULL; }

static void interactive(void) {
    session s;
    CHECK(start(&s, "1", 100), "a pseudo-terminal session starts");
    size_t from;
    const char *screen = wait_prompt(&s, &from, 60000);
    CHECK(has(screen, "Hyperparameters:") && has(screen, "top_p") && has(screen, "Which hyperparameter first?"),
          "the tour opens with the menu and asks");
    CHECK(!strchr(screen, '\033'), "NO_COLOR: no escapes");

    /* 1. temperature, by number */
    screen = send(&s, "2");
    CHECK(has(screen, "2/15  Temperature"), "lesson 2 by number");
    check_sources(screen, "temperature");
    check_numbers(screen, "temperature", "--temperature 0.7");
    CHECK(has(screen, "What next?") && has(screen, "step through the code"), "asks what next, offering deeper");

    /* own value */
    screen = send(&s, "v 1.5");
    check_numbers(screen, "temperature 1.5", "--temperature 1.5");
    /* own prompt: the lesson again, on the new distribution */
    screen = send(&s, "p In the beginning God");
    CHECK(has(screen, "The prompt is now \"In the beginning God\""), "own prompt taken");
    size_t n = check_numbers(screen, "temperature, own prompt", "--temperature 1.5");
    CHECK(n > 0 && has(screen, "after \"In the beginning God\""), "the demo uses the new prompt");
    /* deeper: the arithmetic on these numbers agrees with the live column */
    screen = send(&s, "s");
    CHECK(has(screen, "step by step") && has(screen, "p(T)"), "step through the code");
    {
        /* the top token's p(T) in the step table equals inspect's */
        char *argv[] = {(char *)bin, "inspect", "-p", "In the beginning God", "--samplers", "temperature",
                        "--temperature", "1.5", "--json", NULL};
        int status;
        char *out = run_capture(argv, &status);
        ll_error err;
        lj_doc *d = lj_parse(out, strlen(out), &err);
        if (d) {
            const lj_value *st = lj_get(lj_root(d), "stages")->items[0];
            char num[32];
            snprintf(num, sizeof num, "%.4f", (float)lj_num(lj_get(lj_get(st, "top_after")->items[0], "p")));
            CHECK(has(screen, num), "the stepped arithmetic gives the live p %s", num);
            lj_free(d);
        }
        free(out);
    }

    /* 2. top_k, by name; 3. top_p and 4. min_p by number; 5. logit_bias; 6. the loop */
    screen = send(&s, "top_k");
    CHECK(has(screen, "/15  top_k"), "top_k by name");
    check_sources(screen, "top_k");
    check_numbers(screen, "top_k", "--top-k 5");
    CHECK(has(screen, "cut"), "top_k shows the cut tokens");
    screen = send(&s, "4");
    CHECK(has(screen, "4/15  top_p"), "top_p by number");
    check_sources(screen, "top_p");
    check_numbers(screen, "top_p", "--top-p 0.9");
    screen = send(&s, "5");
    check_sources(screen, "min_p");
    check_numbers(screen, "min_p", "--min-p 0.1");
    screen = send(&s, "m");
    CHECK(has(screen, "at more values"), "more values");
    screen = send(&s, "logit_bias");
    check_sources(screen, "logit_bias");
    check_numbers(screen, "logit_bias", "--logit-bias ");
    screen = send(&s, "1");
    check_sources(screen, "loop");
    CHECK(has(screen, "step 1:") && has(screen, "feeds it back"), "the loop, stepped");
    screen = send(&s, "top_p 2");
    CHECK(has(screen, "is not a lesson or a command"), "nonsense gets a hint, not a crash");
    screen = send(&s, "v 99");
    CHECK(has(screen, "is out of range for this lesson"), "a value out of range is a clear error: %.200s", screen);
    send(&s, "q");
    CHECK(has(s.all, "Bye."), "q says goodbye");
    printf("interactive session: %zu bytes of screens\n", s.n);
    int status = finish(&s);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the tour exits 0 (status %d)", status);
    end_session(&s);
}

static void interrupt_and_colour(void) {
    session s;
    CHECK(start(&s, NULL, 80), "a second session starts");
    size_t from;
    const char *screen = wait_prompt(&s, &from, 60000);
    (void)screen;
    /* colour on a terminal without NO_COLOR: read the raw bytes again */
    CHECK(strstr(s.all, "Hyperparameters:") != NULL, "menu shown");
    (void)!write(s.master, "\003", 1); /* Ctrl-C through the terminal's line discipline */
    int status = finish(&s);
    CHECK(has(s.all, "Bye."), "Ctrl-C ends the tour with a goodbye");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 130, "Ctrl-C exit status 130 (got %d)",
          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    end_session(&s);
}

static void colour_follows_no_color(void) {
    /* on a terminal, colour unless NO_COLOR; through a pipe never */
    session s;
    CHECK(start(&s, NULL, 80), "a colour session starts");
    size_t from;
    /* read raw: append_clean drops escapes, so look at the terminal directly */
    char raw[65536];
    size_t n = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (n < sizeof raw - 1) {
        struct pollfd p = {s.master, POLLIN, 0};
        if (poll(&p, 1, 200) > 0) {
            ssize_t k = read(s.master, raw + n, sizeof raw - 1 - n);
            if (k <= 0) break;
            n += (size_t)k;
            raw[n] = '\0';
            if (strstr(raw, "> ")) break;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 60) break;
    }
    raw[n] = '\0';
    CHECK(strchr(raw, '\033') != NULL, "colour on a terminal without NO_COLOR");
    (void)!write(s.master, "q\n", 2);
    (void)wait_prompt(&s, &from, 5000);
    finish(&s);
    end_session(&s);

    char *argv[] = {(char *)bin, "explain", "temperature", NULL};
    int status;
    char *out = run_capture(argv, &status);
    CHECK(!strchr(out, '\033'), "no colour through a pipe");
    free(out);
}

static void every_lesson_non_interactive(void) {
    for (int i = 1; i <= 15; i++) {
        char num[8];
        snprintf(num, sizeof num, "%d", i);
        char *argv[] = {(char *)bin, "explain", num, "--more", "--step", "--width", "100", NULL};
        int status;
        char *out = run_capture(argv, &status);
        char what[32];
        snprintf(what, sizeof what, "lesson %d", i);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s runs non-interactively", what);
        char head[16];
        snprintf(head, sizeof head, "%d/15  ", i);
        CHECK(strstr(out, head) && strstr(out, "Live") && strstr(out, "step by step"),
              "%s: concept, live demo, step-through", what);
        check_sources(out, what);
        /* names, defaults, ranges and orders come from the tables through placeholders */
        CHECK(!strstr(out, "{?"), "%s: every placeholder of the text is known: %.80s", what,
              strstr(out, "{?") ? strstr(out, "{?") : "");
        if (i == 11)
            CHECK(strstr(out, "warning: hf profile: do_sample is false") != NULL,
                  "%s: the library's warning for hf without do_sample is on the screen", what);
        if (strstr(out, "same numbers: logitlab inspect") && i >= 2 && i <= 9) check_numbers(out, what, NULL);
        if (strstr(out, "same numbers: logitlab compare")) check_compare(out, what);
        free(out);
    }
    /* EOF in the middle of the tour ends it cleanly */
    int fd[2];
    (void)!pipe(fd);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[0], 0);
        close(fd[1]);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execl(bin, bin, "explain", (char *)NULL);
        _exit(127);
    }
    close(fd[0]);
    (void)!write(fd[1], "3\nm\n", 4);
    close(fd[1]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "EOF ends the tour with status 0");
    /* a bad lesson or value is a clear error */
    char *bad[] = {(char *)bin, "explain", "top_q", NULL};
    free(run_capture(bad, &status));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2, "unknown lesson: status 2");
    /* the names users type, read from the parameter and stage rows: a flag,
     * a stage alias, an HF class, a llama.cpp name */
    static const struct {
        const char *name, *head;
    } names[] = {{"temp", "2/15  "},           {"top-k", "3/15  "},          {"TopPLogitsWarper", "4/15  "},
                 {"repeat-penalty", "7/15  "}, {"penalties", "7/15  "},      {"presence_penalty", "8/15  "},
                 {"frequency", "8/15  "},      {"bias", "9/15  "},           {"compare", "14/15  "}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char *argv[] = {(char *)bin, "explain", (char *)names[k].name, NULL};
        char *out = run_capture(argv, &status);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, names[k].head) != NULL,
              "'%s' opens lesson %s", names[k].name, names[k].head);
        free(out);
    }
    char *badv[] = {(char *)bin, "explain", "top_p", "--value", "1.7", NULL};
    free(run_capture(badv, &status));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2, "top_p 1.7: status 2");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_explain LOGITLAB SOURCE_ROOT\n");
        return 2;
    }
    bin = argv[1];
    root = argv[2];
    signal(SIGPIPE, SIG_IGN);
    every_lesson_non_interactive();
    interactive();
    interrupt_and_colour();
    colour_follows_no_color();
    return tu_finish("explain");
}

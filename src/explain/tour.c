/*
 * tour.c - the interactive tour: a menu of lessons, and after each lesson
 * the question a teacher would ask - go deeper (more values, your own
 * prompt, your own value, the code stepped through on these numbers),
 * another hyperparameter, or quit. Reads lines; EOF and Ctrl-C end it
 * cleanly.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "explain_impl.h"

static void menu(ll_explain *e) {
    const ll_term *t = &e->term;
    FILE *f = t->f;
    fputc('\n', f);
    ll_term_color(t, LL_C_BOLD);
    fputs("  Hyperparameters:\n", f);
    ll_term_color(t, LL_C_RESET);
    /* two columns when every item fits whole in one, else one column (a
     * title cut in the middle of a word reads worse than a longer list) */
    int widest = 0;
    for (size_t i = 0; i < ll_n_lessons; i++) {
        char item[200];
        snprintf(item, sizeof item, "%2d %-19s %s", (int)i + 1, ll_lesson_id(&ll_lessons[i]),
                 ll_lesson_title(&ll_lessons[i]));
        int w = ll_term_columns(item, strlen(item));
        widest = w > widest ? w : widest;
    }
    int cols = t->width - 4 >= 2 * (widest + 2) ? 2 : 1, per = ((int)ll_n_lessons + cols - 1) / cols;
    int cw = (t->width - 4) / cols;
    for (int r = 0; r < per; r++) {
        fputs("  ", f);
        for (int c = 0; c < cols; c++) {
            int i = c * per + r;
            if (i >= (int)ll_n_lessons) break;
            char item[200];
            snprintf(item, sizeof item, "%2d %-19s %s", i + 1, ll_lesson_id(&ll_lessons[i]),
                     ll_lesson_title(&ll_lessons[i]));
            int w = ll_term_columns(item, strlen(item));
            if (w > cw - 1) {
                /* cut at a character boundary, at the last space that leaves room for "..." */
                int cols_seen = 0;
                size_t k = 0, space = 0;
                while (item[k] && cols_seen < cw - 4) {
                    if (((unsigned char)item[k] & 0xC0) != 0x80) cols_seen++;
                    if (item[k] == ' ' && k > 24) space = k;
                    k++;
                }
                while (item[k] && ((unsigned char)item[k] & 0xC0) == 0x80) k++;
                if (space) k = space;
                snprintf(item + k, sizeof item - k, "...");
                w = ll_term_columns(item, strlen(item));
            }
            if (e->current == i) ll_term_color(t, LL_C_ACCENT);
            fputs(item, f);
            ll_term_color(t, LL_C_RESET);
            if (c + 1 < cols)
                for (; w < cw; w++) fputc(' ', f);
        }
        fputc('\n', f);
    }
}

static void ask(ll_explain *e) {
    const ll_term *t = &e->term;
    FILE *f = t->f;
    fputc('\n', f);
    ll_term_color(t, LL_C_BOLD);
    if (e->current >= 0) {
        const ll_lesson *L = &ll_lessons[e->current];
        char q[200];
        snprintf(q, sizeof q, "What next? Go deeper into %s, or open another hyperparameter:", ll_lesson_id(L));
        ll_term_wrap(t, q, 2);
        ll_term_color(t, LL_C_RESET);
        fprintf(f, "    m         more values of %s\n", ll_lesson_value_name(L));
        if (L->integer)
            fprintf(f, "    v VALUE   your own value (now %.0f; an integer in [%.0f, %.0f])\n", e->value, ll_lesson_lo(L),
                    ll_lesson_hi(L));
        else
            fprintf(f, "    v VALUE   your own value (now %g; valid [%g, %g])\n", e->value, ll_lesson_lo(L),
                    ll_lesson_hi(L));
        fprintf(f, "    p TEXT    your own prompt (now \"%s\")\n", e->prompt);
        fprintf(f, "    s         step through the code on these numbers\n");
        if (t->width >= 80)
            fprintf(f, "    1-%zu / a name   another lesson;  l  the list;  n  the next one;  q  quit\n", ll_n_lessons);
        else
            fprintf(f, "    1-%zu / a name   another lesson\n    l  the list;  n  the next one;  q  quit\n", ll_n_lessons);
    } else {
        ll_term_wrap(t, "Which hyperparameter first? A number or a name (Enter starts at 1; q quits; p TEXT sets the "
                        "prompt)",
                     2);
        ll_term_color(t, LL_C_RESET);
    }
    ll_term_color(t, LL_C_ACCENT);
    fputs("> ", f);
    ll_term_color(t, LL_C_RESET);
    fflush(f);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static bool interrupted(const ll_explain *e) { return e->interrupt && *e->interrupt; }

/* Waits until a line can be read or the interrupt flag is set. A signal
 * that lands between the prompt and a blocking read would otherwise be
 * lost until the next Enter; polling the flag closes that window. The
 * stream is unbuffered (see ll_explain_tour), so poll sees all input. */
static bool wait_input(const ll_explain *e) {
    int fd = fileno(e->in);
    if (fd < 0) return !interrupted(e);
    while (!interrupted(e)) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 200);
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return true; /* let the read report it */
    }
    return false;
}

static void show_error(ll_explain *e, const ll_error *err) {
    ll_term_color(&e->term, LL_C_BAD);
    fprintf(e->term.f, "  %s\n", err->message);
    ll_term_color(&e->term, LL_C_RESET);
}

ll_status ll_explain_tour(ll_explain *e, ll_error *err) {
    const ll_term *t = &e->term;
    FILE *f = t->f;
    const ll_model_info *mi = ll_model_get_info(e->model);
    setvbuf(e->in, NULL, _IONBF, 0);
    ll_term_heading(t, "logitlab explain: inference hyperparameters, with the implementation under the hood");
    ll_term_wrap(t,
                 "A language model turns text into a score for every possible next token. Everything between "
                 "those scores and the token that gets written - temperature, top_k, top_p, penalties, beams, "
                 "stopping - is an inference hyperparameter. We open them one at a time: the idea, the C function "
                 "in logitlab that does it, and what it does to this model's real next-token distribution.",
                 2);
    /* the name comes from the file (general.name) and the prompt from the
     * user: both escaped, so neither can drive the terminal */
    char *intro = NULL;
    size_t intro_len = 0;
    FILE *m = open_memstream(&intro, &intro_len);
    if (m) {
        fputs("Model: ", m);
        ll_term_put_text(m, mi->name, strlen(mi->name));
        fprintf(m, " (%s, %zu layers, dim %zu, %zu tokens in the vocabulary).\nPrompt: \"", mi->file_type,
                mi->n_layers, mi->dim, mi->n_vocab);
        ll_term_put_text(m, e->prompt, strlen(e->prompt));
        fputs("\"", m);
        fclose(m);
    }
    if (intro) {
        fputc('\n', f);
        ll_term_wrap(t, intro, 2);
        free(intro);
    }
    menu(e);
    char line[1200];
    for (;;) {
        if (interrupted(e)) break;
        ask(e);
        errno = 0;
        if (!wait_input(e)) break;
        if (!fgets(line, sizeof line, e->in)) break; /* EOF, or Ctrl-C interrupting the read */
        if (interrupted(e)) break;
        if (!strchr(line, '\n') && !feof(e->in)) {
            /* the rest of an over-long line must not run as commands */
            int ch;
            while ((ch = fgetc(e->in)) != EOF && ch != '\n') {
            }
            fprintf(f, "  That line is longer than %zu bytes; nothing was done.\n", sizeof line - 2);
            continue;
        }
        char *cmd = trim(line);
        ll_status st = LL_OK;
        ll_error_clear(err);
        if (!*cmd && e->current < 0) cmd = "1";
        if (!*cmd) continue;
        if (!strcmp(cmd, "q") || !strcmp(cmd, "quit") || !strcmp(cmd, "exit")) break;
        if (!strcmp(cmd, "l") || !strcmp(cmd, "list") || !strcmp(cmd, "menu") || !strcmp(cmd, "?") ||
            !strcmp(cmd, "h") || !strcmp(cmd, "help")) {
            menu(e);
            continue;
        }
        if (!strcmp(cmd, "m") || !strcmp(cmd, "more")) {
            st = ll_explain_more_values(e, err);
        } else if (!strcmp(cmd, "s") || !strcmp(cmd, "step")) {
            st = ll_explain_step(e, err);
        } else if (!strcmp(cmd, "d") || !strcmp(cmd, "deeper")) {
            fputs("  Deeper: m (more values), v VALUE, p TEXT, or s (step through the code).\n", f);
            continue;
        } else if ((cmd[0] == 'p' || cmd[0] == 'v') && (cmd[1] == ' ' || cmd[1] == '\0')) {
            char *arg = trim(cmd + 1);
            if (!*arg) {
                fprintf(f, "  %s what? e.g. '%s'\n", cmd[0] == 'p' ? "p" : "v",
                        cmd[0] == 'p' ? "p In the beginning" : "v 0.5");
                continue;
            }
            if (cmd[0] == 'p') {
                st = ll_explain_set_prompt(e, arg, err);
                if (st == LL_OK) {
                    fprintf(f, "  The prompt is now \"%s\" (%zu tokens).\n", e->prompt, e->n_ids);
                    if (e->current >= 0) st = ll_explain_lesson(e, e->current, &e->value, err);
                }
            } else {
                if (e->current < 0) {
                    fputs("  Open a lesson first: a value belongs to a hyperparameter.\n", f);
                    continue;
                }
                char *end;
                double v = strtod(arg, &end);
                if (end == arg || *trim(end)) {
                    ll_fail(err, LL_ERR_INVALID_ARGUMENT, "'%s' is not a number", arg);
                    st = LL_ERR_INVALID_ARGUMENT;
                } else {
                    double keep = e->value;
                    st = ll_explain_lesson(e, e->current, &v, err);
                    if (st != LL_OK) e->value = keep;
                }
            }
        } else if (!strcmp(cmd, "n") || !strcmp(cmd, "next")) {
            int next = e->current + 1 < (int)ll_n_lessons ? e->current + 1 : 0;
            st = ll_explain_lesson(e, next, NULL, err);
        } else {
            int i = ll_explain_find(cmd);
            if (i == -2) {
                fprintf(f, "  '%s' could be:", cmd);
                for (size_t k = 0; k < ll_n_lessons; k++)
                    if (!strncmp(ll_lesson_id(&ll_lessons[k]), cmd, strlen(cmd)))
                        fprintf(f, " %s", ll_lesson_id(&ll_lessons[k]));
                fputs(". Type more of the name.\n", f);
                continue;
            }
            if (i < 0) {
                fprintf(f, "  '%s' is not a lesson or a command. ", cmd);
                fprintf(f, "Type a number 1-%zu, a name such as top_p, or l for the list.\n", ll_n_lessons);
                continue;
            }
            st = ll_explain_lesson(e, i, NULL, err);
        }
        if (st != LL_OK) {
            if (interrupted(e)) break;
            show_error(e, err);
        }
    }
    ll_term_color(t, LL_C_DIM);
    fputs("\n  Bye. Every demo has a command: logitlab inspect, logitlab generate --help.\n", f);
    ll_term_color(t, LL_C_RESET);
    fflush(f);
    ll_error_clear(err);
    return LL_OK;
}

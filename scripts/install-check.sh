#!/bin/sh
# Installs logitlab into a temporary prefix and builds a small C program
# against it with pkg-config, using only the installed files.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig"
cat > "$prefix/use.c" <<'C'
#include <logitlab.h>
#include <stdio.h>
int main(void) {
    float logits[4] = {0.5f, 2.0f, -1.0f, 1.0f};
    ll_error err;
    ll_sampling_params p;
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    p.seed = 1;
    ll_chain *ch = ll_chain_from_params(&p, 4, &err);
    if (!ch) { fprintf(stderr, "%s\n", err.message); return 1; }
    int32_t tok;
    if (ll_chain_sample(ch, logits, 4, &tok, &err) != LL_OK) { fprintf(stderr, "%s\n", err.message); return 1; }
    printf("token %d\n", tok);
    ll_chain_free(ch);
    return tok >= 0 && tok < 4 ? 0 : 1;
}
C
if command -v pkg-config >/dev/null 2>&1; then
  flags=$(pkg-config --cflags --libs --static logitlab)
else
  flags="-I$prefix/include -L$prefix/lib -llogitlab -lm -lpthread"
fi
# shellcheck disable=SC2086
cc -std=c11 -o "$prefix/use" "$prefix/use.c" $flags
"$prefix/use"
[ -x "$prefix/bin/logitlab" ]
echo "install check: ok"

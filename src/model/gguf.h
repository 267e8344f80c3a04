/*
 * gguf.h - moved to src/format/gguf.h; this forward stays only until the
 * tests that include the old path are updated (then it is deleted).
 */
#include "../format/gguf.h"

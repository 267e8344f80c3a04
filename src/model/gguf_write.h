/*
 * gguf_write.h - moved to src/format/gguf_write.h; this forward stays only until the
 * tests that include the old path are updated (then it is deleted).
 */
#include "../format/gguf_write.h"

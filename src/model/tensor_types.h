/*
 * tensor_types.h - moved to src/format/tensor_types.h; this forward stays only until the
 * tests that include the old path are updated (then it is deleted).
 */
#include "../format/tensor_types.h"

#ifndef PLUGIND_CZLIB_SHIM_H
#define PLUGIND_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 and deflateInit2 are macros (they pass ZLIB_VERSION and sizeof(z_stream)),
// which Swift cannot call: typed wrappers. windowBits 15 + 16 selects the gzip wrapper.
static inline int plugind_inflate_init2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
static inline int plugind_deflate_init2(z_streamp strm, int level, int windowBits) {
    return deflateInit2(strm, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
#endif

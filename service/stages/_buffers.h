/* What the C kernels (setup.py's KERNELS) share: reading a buffer as an array of fixed-size
 * items, ASCII's case, and the unit hash's finish. Included by each kernel's source; static,
 * so each module has its own copy. */
#ifndef ARTICLE_INGEST_BUFFERS_H
#define ARTICLE_INGEST_BUFFERS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* The number of ``item``-byte items in ``buffer``, in ``*count``; 0 with a ValueError naming
 * the argument when it is not a whole number of them. */
static inline int items(const Py_buffer *buffer, Py_ssize_t item, Py_ssize_t *count,
                        const char *name) {
    if (buffer->len % item != 0) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes is not a whole number of %zd-byte items",
                     name, buffer->len, item);
        return 0;
    }
    *count = buffer->len / item;
    return 1;
}

/* ASCII's upper-case letters, and each character lower-cased as ``str.lower`` and
 * ``str.casefold`` both do it in ASCII. */
static inline int is_ascii_upper(uint32_t c) { return c >= 'A' && c <= 'Z'; }

static inline uint32_t ascii_lower(uint32_t c) { return is_ascii_upper(c) ? c + ('a' - 'A') : c; }

/* A unit's polynomial hash (its code points times powers of the base) made final: its length
 * mixed in, then the finalizer's rounds (``fingerprint``'s unit hash, which ``_units`` and
 * ``_terms`` both compute). */
static inline uint64_t finished(uint64_t hash, Py_ssize_t length, uint64_t length_mix,
                                const uint64_t *fin, Py_ssize_t nfinals, int shift) {
    hash ^= (uint64_t)length * length_mix;
    for (Py_ssize_t f = 0; f < nfinals; f++) {
        hash ^= hash >> shift;
        hash *= fin[f];
    }
    return hash ^ (hash >> shift);
}

#endif

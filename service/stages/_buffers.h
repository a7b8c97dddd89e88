/* What the C kernels (setup.py's KERNELS) share: reading a buffer as an array of fixed-size
 * items, and ASCII's case. Included by each kernel's source; static, so each module has its own
 * copy. */
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

#endif

/* The LSH band table's lookup in C: the kernel the compiled build adds to
 * ``dedup.BandIndex.candidates`` (setup.py with ARTICLE_INGEST_COMPILE=1), and the band keys.
 *
 * The NumPy path gathers each band's row, compares the checks, offsets and filters the serials,
 * then counts and orders the distinct ones: a dozen calls whose fixed costs are most of the work
 * on an article's 21 bands. Here the rows are prefetched first (at a full window the table is
 * hundreds of MB, so each is a cache miss) and the same serials come out in the same order: most
 * bands shared first, then the lower serial.
 *
 * Beside it, the band keys of a signature (``dedup.band_keys``): six NumPy calls over 63 values
 * made one loop.
 *
 * keys(out, signature, mix, salt, shift, multiplier)
 *   out        writable uint64[bands]
 *   signature  uint16[bands * rows]; mix uint64[bands * rows]; salt uint64[bands]
 *   out[b] = h * multiplier, h = m ^ (m >> shift), m = (sum of signature[b * rows + r] *
 *   mix[b * rows + r]) ^ salt[b], all modulo 2**64
 *
 * candidates(checks, serials, keys, ways, base, oldest) -> [serial, ...]
 *   checks, serials  uint32[rows * ways] (the table's rows one after another; rows a power of
 *                    two); a serial entry is its offset from ``base`` plus one, 0 for none
 *   keys             uint64[bands]: a band's row is its low bits, its check its high 32 bits
 *   oldest           the oldest live serial: older ones are not candidates
 */
#include "_buffers.h"
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int64_t serial;
    Py_ssize_t count;
} Hit;

/* Most bands shared first, then the lower serial (``np.lexsort((found, -counts))``). */
static int before(const Hit *a, const Hit *b) {
    return a->count != b->count ? a->count > b->count : a->serial < b->serial;
}

static PyObject *candidates(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer checks, serials, keys;
    Py_ssize_t ways;
    long long base, oldest;
    if (!PyArg_ParseTuple(args, "y*y*y*nLL", &checks, &serials, &keys, &ways, &base, &oldest)) {
        return NULL;
    }
    PyObject *result = NULL;
    int64_t *found = NULL;
    Hit *hits = NULL;
    Py_ssize_t entries, nserials, bands;
    if (!items(&checks, 4, &entries, "checks") || !items(&serials, 4, &nserials, "serials")
        || !items(&keys, 8, &bands, "keys")) {
        goto done;
    }
    Py_ssize_t rows = ways > 0 ? entries / ways : 0;
    if (nserials != entries || rows == 0 || rows * ways != entries || (rows & (rows - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError, "checks and serials are not one table of a power of "
                                          "two rows of ways entries");
        goto done;
    }
    const uint32_t *check = checks.buf, *offset = serials.buf;
    const uint64_t *key = keys.buf;
    uint64_t mask = (uint64_t)rows - 1;
    for (Py_ssize_t b = 0; b < bands; b++) {
        Py_ssize_t row = (Py_ssize_t)(key[b] & mask) * ways;
        __builtin_prefetch(check + row), __builtin_prefetch(offset + row);
    }
    found = malloc(sizeof(int64_t) * (size_t)(bands * ways + 1));
    hits = malloc(sizeof(Hit) * (size_t)(bands * ways + 1));
    if (found == NULL || hits == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t least = oldest > base ? oldest : base;
    Py_ssize_t n = 0;
    for (Py_ssize_t b = 0; b < bands; b++) {
        Py_ssize_t row = (Py_ssize_t)(key[b] & mask) * ways;
        uint32_t wanted = (uint32_t)(key[b] >> 32);
        for (Py_ssize_t w = 0; w < ways; w++) {
            int64_t serial = (int64_t)offset[row + w] + base - 1; /* empty: base - 1, dropped */
            if (check[row + w] == wanted && serial >= least) {
                Py_ssize_t at = n++; /* insertion sort: a few dozen hits at most */
                while (at > 0 && found[at - 1] > serial) {
                    found[at] = found[at - 1];
                    at--;
                }
                found[at] = serial;
            }
        }
    }
    Py_ssize_t distinct = 0;
    for (Py_ssize_t i = 0; i < n; i++) { /* the runs of equal serials */
        if (distinct > 0 && hits[distinct - 1].serial == found[i]) {
            hits[distinct - 1].count++;
        } else {
            hits[distinct++] = (Hit){found[i], 1};
        }
    }
    for (Py_ssize_t i = 1; i < distinct; i++) {
        Hit hit = hits[i];
        Py_ssize_t at = i;
        while (at > 0 && before(&hit, &hits[at - 1])) {
            hits[at] = hits[at - 1];
            at--;
        }
        hits[at] = hit;
    }
    result = PyList_New(distinct);
    for (Py_ssize_t i = 0; result != NULL && i < distinct; i++) {
        PyObject *serial = PyLong_FromLongLong(hits[i].serial);
        if (serial == NULL) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, i, serial);
    }
done:
    free(found), free(hits);
    PyBuffer_Release(&checks), PyBuffer_Release(&serials), PyBuffer_Release(&keys);
    return result;
}

static PyObject *keys(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out, signature, mix, salt;
    int shift;
    unsigned long long multiplier;
    if (!PyArg_ParseTuple(args, "w*y*y*y*iK", &out, &signature, &mix, &salt, &shift,
                          &multiplier)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t bands, values, mixes, salts;
    if (!items(&out, 8, &bands, "out") || !items(&signature, 2, &values, "signature")
        || !items(&mix, 8, &mixes, "mix") || !items(&salt, 8, &salts, "salt")) {
        goto done;
    }
    if (bands == 0 || values % bands != 0 || mixes != values || salts != bands || shift < 0
        || shift > 63) {
        PyErr_SetString(PyExc_ValueError, "signature and mix are not bands of rows, salt not one "
                                          "a band, or the shift is not 0 to 63");
        goto done;
    }
    Py_ssize_t rows = values / bands;
    const uint16_t *minima = signature.buf;
    const uint64_t *mixer = mix.buf, *salted = salt.buf;
    uint64_t *key = out.buf;
    for (Py_ssize_t b = 0; b < bands; b++) {
        uint64_t mixed = 0;
        for (Py_ssize_t r = b * rows; r < (b + 1) * rows; r++) {
            mixed += (uint64_t)minima[r] * mixer[r];
        }
        mixed ^= salted[b];
        mixed ^= mixed >> shift;
        key[b] = mixed * multiplier;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&out), PyBuffer_Release(&signature), PyBuffer_Release(&mix);
    PyBuffer_Release(&salt);
    return result;
}

static PyMethodDef methods[] = {
    {"keys", keys, METH_VARARGS,
     "keys(out, signature, mix, salt, shift, multiplier): the band keys of a signature, into "
     "out (uint64)."},
    {"candidates", candidates, METH_VARARGS,
     "candidates(checks, serials, keys, ways, base, oldest) -> the live serials sharing a band, "
     "most shared bands first, then the lower serial."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_bands", "The LSH band keys and table lookup (_bands.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__bands(void) { return PyModule_Create(&definition); }

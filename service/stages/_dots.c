/* Dot products of one sparse vector with several others, in C: the kernel the compiled build
 * adds to ``cluster.cosines`` (setup.py with ARTICLE_INGEST_COMPILE=1).
 *
 * The NumPy path numbers the query's terms in an 8 MB table over every term id and looks each
 * other term up there: at a large state, those lookups miss the caches (``bench_state``: cosines
 * cost 25 us a decision at 10k articles and 43 at 100k). Here the query's terms go into an
 * open-addressing table of a few KB that stays in the first-level cache, and each other term is
 * looked up in it. Products and sums are the NumPy path's: float64 products of the float32
 * weights, added per vector in term order, so the results are the same bit for bit.
 *
 * dots(out, query_terms, query_weights, terms, weights, lengths)
 *   out            writable float64[vectors]
 *   query_terms    uint32[q], query_weights float32[q] (a repeated term: its last weight)
 *   terms, weights uint32[n], float32[n]: the other vectors' terms and weights, one after another
 *   lengths        intp[vectors]: how many of them each vector has (summing to n)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

#define EMPTY UINT32_MAX /* no term id reaches it (ids are DF_BITS wide) */

static PyObject *dots(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out, query_terms, query_weights, terms, weights, lengths;
    if (!PyArg_ParseTuple(args, "w*y*y*y*y*y*", &out, &query_terms, &query_weights, &terms,
                          &weights, &lengths)) {
        return NULL;
    }
    PyObject *result = NULL;
    uint32_t *keys = NULL;
    int32_t *columns = NULL;
    Py_ssize_t vectors = out.len / 8, q = query_terms.len / 4, n = terms.len / 4;
    if (out.len % 8 || query_terms.len % 4 || query_weights.len != query_terms.len
        || terms.len % 4 || weights.len != terms.len
        || lengths.len != vectors * (Py_ssize_t)sizeof(Py_ssize_t)) {
        PyErr_SetString(PyExc_ValueError, "arrays of the wrong sizes for dots");
        goto done;
    }
    const Py_ssize_t *length = lengths.buf;
    Py_ssize_t total = 0;
    for (Py_ssize_t v = 0; v < vectors; v++) {
        if (length[v] < 0) {
            break;
        }
        total += length[v];
    }
    if (total != n) {
        PyErr_SetString(PyExc_ValueError, "lengths do not sum to the number of terms");
        goto done;
    }
    Py_ssize_t slots = 16;
    while (slots < 2 * q) {
        slots <<= 1;
    }
    keys = malloc(sizeof(uint32_t) * (size_t)slots);
    columns = malloc(sizeof(int32_t) * (size_t)slots);
    if (keys == NULL || columns == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t s = 0; s < slots; s++) {
        keys[s] = EMPTY;
    }
    const uint32_t *query = query_terms.buf, *term = terms.buf;
    const float *query_weight = query_weights.buf, *weight = weights.buf;
    uint32_t mask = (uint32_t)(slots - 1);
    for (Py_ssize_t j = 0; j < q; j++) {
        if (query[j] == EMPTY) {
            PyErr_SetString(PyExc_ValueError, "a term id of 2**32 - 1");
            goto done;
        }
        uint32_t slot = (query[j] * 2654435761u) & mask;
        while (keys[slot] != EMPTY && keys[slot] != query[j]) {
            slot = (slot + 1) & mask;
        }
        keys[slot] = query[j];
        columns[slot] = (int32_t)j; /* a repeated term: its last position, as the table */
    }
    double *dot = out.buf;
    Py_ssize_t at = 0;
    for (Py_ssize_t v = 0; v < vectors; v++) {
        double sum = 0.0;
        for (Py_ssize_t end = at + length[v]; at < end; at++) {
            uint32_t slot = (term[at] * 2654435761u) & mask;
            while (keys[slot] != EMPTY && keys[slot] != term[at]) {
                slot = (slot + 1) & mask;
            }
            if (keys[slot] == term[at]) {
                sum += (double)weight[at] * (double)query_weight[columns[slot]];
            }
        }
        dot[v] = sum;
    }
    result = Py_NewRef(Py_None);
done:
    free(keys), free(columns);
    PyBuffer_Release(&out), PyBuffer_Release(&query_terms), PyBuffer_Release(&query_weights);
    PyBuffer_Release(&terms), PyBuffer_Release(&weights), PyBuffer_Release(&lengths);
    return result;
}

static PyMethodDef methods[] = {
    {"dots", dots, METH_VARARGS,
     "dots(out, query_terms, query_weights, terms, weights, lengths): the dot product of the "
     "query with each vector, into out (float64)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_dots",
    "Dot products of one sparse vector with several others (see _dots.c).", -1, methods, NULL,
    NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__dots(void) { return PyModule_Create(&definition); }

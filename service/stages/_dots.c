/* Dot products of one sparse vector with several others, in C: the kernel the compiled build
 * adds to ``cluster.cosines`` (setup.py with ARTICLE_INGEST_COMPILE=1).
 *
 * The NumPy path numbers the query's terms in an 8 MB table over every term id and looks each
 * other term up there: at a large state, those lookups miss the caches (``bench_state``: cosines
 * cost 25 us a decision at 10k articles and 43 at 100k). Here the query's terms go into an
 * open-addressing table of a few KB that stays in the first-level cache, and each other term is
 * looked up in it, read where its vector holds it (no copy of them all first). Products and sums
 * are the NumPy path's: float64 products of the float32 weights, added per vector in term
 * order, so the results are the same bit for bit.
 *
 * dots(out, query_terms, query_weights, vectors)
 *   out            writable float64[len(vectors)]
 *   query_terms    uint32[q], query_weights float32[q] (a repeated term: its last weight)
 *   vectors        a list of ``cluster.Vector``: (terms uint32[n], weights float32[n], norm)
 */
#include "_buffers.h"
#include <stdint.h>
#include <stdlib.h>

#define EMPTY UINT32_MAX /* no term id reaches it (ids are DF_BITS wide) */

/* The query's terms in an open-addressing table: ``keys`` holds each term (EMPTY where none),
 * ``columns`` its position in the query (a repeated term: its last, as the NumPy path's table). */
typedef struct {
    uint32_t *keys;
    int32_t *columns;
    uint32_t mask;
} QueryTable;

static int build(QueryTable *table, const uint32_t *query, Py_ssize_t q) {
    Py_ssize_t slots = 16;
    while (slots < 2 * q) {
        slots <<= 1;
    }
    table->keys = malloc(sizeof(uint32_t) * (size_t)slots);
    table->columns = malloc(sizeof(int32_t) * (size_t)slots);
    if (table->keys == NULL || table->columns == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    table->mask = (uint32_t)(slots - 1);
    for (Py_ssize_t s = 0; s < slots; s++) {
        table->keys[s] = EMPTY;
    }
    for (Py_ssize_t j = 0; j < q; j++) {
        if (query[j] == EMPTY) {
            PyErr_SetString(PyExc_ValueError, "a term id of 2**32 - 1");
            return 0;
        }
        uint32_t slot = (query[j] * 2654435761u) & table->mask;
        while (table->keys[slot] != EMPTY && table->keys[slot] != query[j]) {
            slot = (slot + 1) & table->mask;
        }
        table->keys[slot] = query[j];
        table->columns[slot] = (int32_t)j;
    }
    return 1;
}

/* The dot product of the query with one vector's (terms, weights), in term order. */
static double dot_with(const QueryTable *table, const float *query_weight, const uint32_t *term,
                       const float *weight, Py_ssize_t n) {
    double sum = 0.0;
    for (Py_ssize_t at = 0; at < n; at++) {
        uint32_t slot = (term[at] * 2654435761u) & table->mask;
        while (table->keys[slot] != EMPTY && table->keys[slot] != term[at]) {
            slot = (slot + 1) & table->mask;
        }
        if (table->keys[slot] == term[at]) {
            sum += (double)weight[at] * (double)query_weight[table->columns[slot]];
        }
    }
    return sum;
}

static PyObject *dots(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out, query_terms, query_weights;
    PyObject *vectors;
    if (!PyArg_ParseTuple(args, "w*y*y*O!", &out, &query_terms, &query_weights, &PyList_Type,
                          &vectors)) {
        return NULL;
    }
    PyObject *result = NULL;
    QueryTable table = {NULL, NULL, 0};
    Py_ssize_t count = PyList_GET_SIZE(vectors), q;
    if (out.len != count * 8 || !items(&query_terms, 4, &q, "query_terms")
        || query_weights.len != query_terms.len) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "out does not hold a float64 a vector, or the "
                                              "query's terms and weights differ in length");
        }
        goto done;
    }
    if (!build(&table, query_terms.buf, q)) {
        goto done;
    }
    double *dot = out.buf;
    for (Py_ssize_t v = 0; v < count; v++) {
        /* a Vector: a tuple whose first two items are its terms and weights */
        PyObject *vector = PyList_GET_ITEM(vectors, v);
        if (!PyTuple_Check(vector) || PyTuple_GET_SIZE(vector) < 2) {
            PyErr_SetString(PyExc_TypeError, "a vector is not a (terms, weights, ...) tuple");
            goto done;
        }
        Py_buffer terms, weights;
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(vector, 0), &terms, PyBUF_C_CONTIGUOUS) < 0) {
            goto done;
        }
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(vector, 1), &weights, PyBUF_C_CONTIGUOUS) < 0) {
            PyBuffer_Release(&terms);
            goto done;
        }
        Py_ssize_t n;
        int fits = items(&terms, 4, &n, "terms") && weights.len == terms.len;
        if (fits) {
            dot[v] = dot_with(&table, query_weights.buf, terms.buf, weights.buf, n);
        } else if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "a vector's terms and weights differ in length");
        }
        PyBuffer_Release(&terms), PyBuffer_Release(&weights);
        if (!fits) {
            goto done;
        }
    }
    result = Py_NewRef(Py_None);
done:
    free(table.keys), free(table.columns);
    PyBuffer_Release(&out), PyBuffer_Release(&query_terms), PyBuffer_Release(&query_weights);
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

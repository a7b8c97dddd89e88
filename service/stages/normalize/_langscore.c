/* The language model's scores of a text in one call: the kernel the compiled build adds to
 * ``language._Identifier`` (setup.py with ARTICLE_INGEST_COMPILE=1).
 *
 * The same arithmetic as the identifier's NumPy path, without its temporaries and with its
 * memory reads overlapped. In the service the model's tables (~40 MB of transitions, ~57 MB of
 * scores) are out of cache at each article, so what costs is waiting on memory, not arithmetic:
 *   - The walk steps every position's last ``window`` bytes pass by pass, as the NumPy path
 *     does: the reads of one pass are independent, so many are in flight at once. Walking byte
 *     by byte makes each read wait on the one before: in the service it cost twice as much
 *     (language identification in ``python -m bench.bench_text --count 1500``, compiled, rows
 *     prefetched, in a trial with the table's rows as float16: 140 against 68 us an article;
 *     this kernel, float32 rows: 75).
 *   - Features are counted in the order they first occur (py3langid's ``Counter`` order).
 *   - Each feature's row of the table is added into the scores as it is read, with the rows a
 *     few features ahead prefetched, instead of gathered into a copy first.
 *
 * score(scores, text, window, moves, rows, emits, table, priors) -> number of features found
 *   scores  writable float32[classes]: set to log1p(count) . table[feature] + priors
 *   text    bytes
 *   window  the automaton's longest n-gram, in bytes (its deepest state)
 *   moves   uint32[]: the automaton's transitions, ``moves[rows[state] * 256 + byte]``
 *   rows    uint16[states]
 *   emits   int32[states]: the feature a state emits, or -1
 *   table   float32[features][classes], C order
 *   priors  float32[classes]
 * With no feature found, ``scores`` is left as it was (the caller scores such a text itself).
 */
#include "../_buffers.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows of the table prefetched ahead of the one being added (measured as above, float16
 * trial: 2, 4 and 8 rows 70, 68 and 68 us an article; none 89). */
#ifndef ROWS_AHEAD
#define ROWS_AHEAD 4
#endif

/* Slots of the open-addressing table that counts features: a power of two at least twice the
 * number of bytes, so it is never more than half full. */
static Py_ssize_t table_slots(Py_ssize_t bytes) {
    Py_ssize_t slots = 64;
    while (slots < 2 * bytes) {
        slots <<= 1;
    }
    return slots;
}

typedef struct {
    Py_buffer scores, text, moves, rows, emits, table, priors;
} Buffers;

static void release(Buffers *b) {
    Py_buffer *all[] = {&b->scores, &b->text, &b->moves, &b->rows, &b->emits, &b->table,
                        &b->priors};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (all[i]->obj != NULL) {
            PyBuffer_Release(all[i]);
        }
    }
}

static PyObject *score(PyObject *module, PyObject *args) {
    (void)module;
    Buffers b;
    memset(&b, 0, sizeof b);
    Py_ssize_t window;
    if (!PyArg_ParseTuple(args, "w*y*ny*y*y*y*y*", &b.scores, &b.text, &window, &b.moves,
                          &b.rows, &b.emits, &b.table, &b.priors)) {
        release(&b);
        return NULL;
    }
    Py_ssize_t classes, transitions, states, emitting, features;
    if (!items(&b.scores, sizeof(float), &classes, "scores")
        || !items(&b.moves, 4, &transitions, "moves") || !items(&b.rows, 2, &states, "rows")
        || !items(&b.emits, 4, &emitting, "emits")
        || !items(&b.table, sizeof(float) * (classes ? classes : 1), &features, "table")
        || b.priors.len != b.scores.len) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "priors and scores differ in length");
        }
        release(&b);
        return NULL;
    }
    const uint8_t *text = b.text.buf;
    const uint32_t *moves = b.moves.buf;
    const uint16_t *rows = b.rows.buf;
    const int32_t *emits = b.emits.buf;
    const float *table = b.table.buf;
    const float *priors = b.priors.buf;
    float *scores = b.scores.buf;
    if (emitting != states || states == 0 || window < 1) {
        PyErr_SetString(PyExc_ValueError, "emits and rows differ in length, or are empty, or "
                                          "the window is not positive");
        release(&b);
        return NULL;
    }

    Py_ssize_t slots = table_slots(b.text.len), found = 0, length = b.text.len;
    int32_t *keys = malloc(sizeof(int32_t) * (size_t)slots);
    uint32_t *counts = calloc((size_t)slots, sizeof(uint32_t));
    int32_t *order = malloc(sizeof(int32_t) * (size_t)(length ? length : 1));
    uint32_t *walked = calloc((size_t)(length ? length : 1), sizeof(uint32_t));
    if (keys == NULL || counts == NULL || order == NULL || walked == NULL) {
        free(keys), free(counts), free(order), free(walked);
        release(&b);
        return PyErr_NoMemory();
    }
    const char *error = NULL;
    Py_BEGIN_ALLOW_THREADS
    /* walked[at]: the state after the bytes (at - back, at], for back from window - 1 down */
    for (Py_ssize_t back = (window < length ? window : length) - 1; back >= 0 && !error;
         back--) {
        for (Py_ssize_t at = back; at < length; at++) {
            Py_ssize_t move = ((Py_ssize_t)rows[walked[at]] << 8) + text[at - back];
            if (move >= transitions || moves[move] >= (uint32_t)states) {
                error = "the automaton steps outside its tables";
                break;
            }
            walked[at] = moves[move];
        }
    }
    for (Py_ssize_t at = 0; at < length && !error; at++) {
        int32_t feature = emits[walked[at]];
        if (feature < 0) {
            continue;
        }
        if (feature >= features) {
            error = "a state emits a feature outside the table";
            break;
        }
        Py_ssize_t slot = ((uint32_t)feature * 2654435761u) & (uint32_t)(slots - 1);
        while (counts[slot] != 0 && keys[slot] != feature) {
            slot = (slot + 1) & (slots - 1);
        }
        if (counts[slot]++ == 0) {
            keys[slot] = feature;
            order[found++] = (int32_t)slot;
        }
    }
    if (error == NULL && found > 0) {
        Py_ssize_t row_bytes = classes * (Py_ssize_t)sizeof(float);
        for (Py_ssize_t c = 0; c < classes; c++) {
            scores[c] = 0.0f;
        }
        for (Py_ssize_t i = 0; i < found; i++) {
            if (i + ROWS_AHEAD < found) {
                const char *ahead = (const char *)(table + (Py_ssize_t)keys[order[i + ROWS_AHEAD]]
                                                   * classes);
                for (Py_ssize_t offset = 0; offset < row_bytes; offset += 64) {
                    __builtin_prefetch(ahead + offset);
                }
            }
            int32_t slot = order[i];
            float weight = log1pf((float)counts[slot]);
            const float *row = table + (Py_ssize_t)keys[slot] * classes;
            for (Py_ssize_t c = 0; c < classes; c++) {
                scores[c] += weight * row[c];
            }
        }
        for (Py_ssize_t c = 0; c < classes; c++) {
            scores[c] += priors[c];
        }
    }
    Py_END_ALLOW_THREADS
    free(keys), free(counts), free(order), free(walked);
    release(&b);
    if (error != NULL) {
        PyErr_SetString(PyExc_ValueError, error);
        return NULL;
    }
    return PyLong_FromSsize_t(found);
}

static PyMethodDef methods[] = {
    {"score", score, METH_VARARGS,
     "score(scores, text, window, moves, rows, emits, table, priors) -> features found: the "
     "language model's scores of text, written into scores."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_langscore",
    "The language model's scores of a text in one pass (see _langscore.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__langscore(void) { return PyModule_Create(&definition); }

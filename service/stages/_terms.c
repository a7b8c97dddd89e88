/* An article's terms and sparse term vectors in C: the kernels the compiled build adds to
 * ``cluster`` (setup.py with ARTICLE_INGEST_COMPILE=1): the spans of names and numbers for
 * ``term_counts``, the strongest terms (``strongest``), dot products for ``cosines``, sums by
 * term for ``term_sums``, the term index's candidate stories (``TermIndex.candidates``),
 * document frequencies (``DocumentFrequencies.add``) and unit vectors (``_normalized``); an
 * article's term ids gathered from its parts (``term_counts``).
 *
 * For dot products, the NumPy path numbers the query's terms in an 8 MB table over every term
 * id and looks each other term up there: at a large state, those lookups miss the caches
 * (``bench_state``: cosines cost 25 us a decision at 10k articles and 43 at 100k). Here the
 * query's terms go into an open-addressing table of a few KB that stays in the first-level
 * cache, and each other term is looked up in it, read where its vector holds it (no copy of
 * them all first). Products and sums are the NumPy path's: float64 products of the float32
 * weights, added per vector in term order, so the results are the same bit for bit.
 *
 * dots(out, query_terms, query_weights, vectors)
 *   out            writable float64[len(vectors)]
 *   query_terms    uint32[q], query_weights float32[q] (a repeated term: its last weight)
 *   vectors        a list of ``cluster.Vector``: (terms uint32[n], weights float32[n], norm)
 */
#include "_buffers.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX /* no term id reaches it (ids are DF_BITS wide) */

/* The query's terms in an open-addressing table: ``keys`` holds each term (EMPTY where none),
 * ``columns`` its position in the query (a repeated term: its last, as the NumPy path's table).
 * ``seen`` is a 4096-bit filter of the same terms (the hash's top 12 bits): most of a
 * candidate's terms are not the query's, and one bit test turns each of them away where a
 * probe of the table would take two or three compares whose end the CPU cannot predict. */
#define SEEN_WORDS 64

typedef struct {
    uint32_t *keys;
    int32_t *columns;
    uint32_t mask;
    uint64_t seen[SEEN_WORDS];
} QueryTable;

static inline uint32_t term_hash(uint32_t term) { return term * 2654435761u; }

static inline int maybe_seen(const QueryTable *table, uint32_t hash) {
    return (int)(table->seen[hash >> 26] >> (hash >> 20 & 63) & 1);
}

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
    memset(table->seen, 0, sizeof(table->seen));
    for (Py_ssize_t s = 0; s < slots; s++) {
        table->keys[s] = EMPTY;
    }
    for (Py_ssize_t j = 0; j < q; j++) {
        if (query[j] == EMPTY) {
            PyErr_SetString(PyExc_ValueError, "a term id of 2**32 - 1");
            return 0;
        }
        uint32_t hash = term_hash(query[j]), slot = hash & table->mask;
        while (table->keys[slot] != EMPTY && table->keys[slot] != query[j]) {
            slot = (slot + 1) & table->mask;
        }
        table->keys[slot] = query[j];
        table->columns[slot] = (int32_t)j;
        table->seen[hash >> 26] |= (uint64_t)1 << (hash >> 20 & 63);
    }
    return 1;
}

/* The dot product of the query with one vector's (terms, weights), in term order. */
static double dot_with(const QueryTable *table, const float *query_weight, const uint32_t *term,
                       const float *weight, Py_ssize_t n) {
    double sum = 0.0;
    for (Py_ssize_t at = 0; at < n; at++) {
        uint32_t hash = term_hash(term[at]), slot = hash & table->mask;
        if (!maybe_seen(table, hash)) {
            continue;
        }
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
    QueryTable table = {NULL, NULL, 0, {0}};
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

/* Names and numbers: ``cluster._names_and_numbers`` finds them with two patterns over the
 * text's class bytes (``_class_table``: "A" a capital, "D" a decimal digit, "W" another word
 * character, "'" a name's apostrophe or hyphen, "S" whitespace, "," and "." themselves, "x"
 * anything else, "Z" a code point past the basic plane or a surrogate). Building the class bytes
 * and iterating the matches cost 40 us an article; here one pass classifies the text and the
 * patterns are scanned as the regex engine matches them:
 *   names    A[ADW']*(?:S+A[ADW']*)*            (spaces join a name only before a capital)
 *   numbers  D(?<![ADW]D)(?:[D,.]*D)?(?![ADW])  (the longest run of digits and separators that
 *                                                ends in a digit and is not followed by a word
 *                                                character; else the one digit; else none)
 * names_and_numbers(text, table) -> ([(start, end)] of names, [(start, end)] of numbers), or
 * None when the text holds a "Z" (the patterns over the text itself serve it). */
static int is_word(uint8_t c) { return c == 'A' || c == 'D' || c == 'W'; }
static int in_name(uint8_t c) { return is_word(c) || c == '\''; }
static int in_number(uint8_t c) { return c == 'D' || c == ',' || c == '.'; }

/* Spans found, as (start, end) pairs one after another. */
typedef struct {
    Py_ssize_t *at;
    Py_ssize_t count, capacity;
} Spans;

static int add_span(Spans *spans, Py_ssize_t start, Py_ssize_t end) {
    if (spans->count == spans->capacity) {
        Py_ssize_t capacity = spans->capacity ? 2 * spans->capacity : 64;
        Py_ssize_t *grown = realloc(spans->at, sizeof(Py_ssize_t) * 2 * (size_t)capacity);
        if (grown == NULL) {
            PyErr_NoMemory();
            return 0;
        }
        spans->at = grown, spans->capacity = capacity;
    }
    spans->at[2 * spans->count] = start, spans->at[2 * spans->count + 1] = end;
    spans->count++;
    return 1;
}

/* The spans as a list of (start, end) tuples. */
static PyObject *span_list(const Spans *spans) {
    PyObject *list = PyList_New(spans->count);
    for (Py_ssize_t i = 0; list != NULL && i < spans->count; i++) {
        PyObject *span = Py_BuildValue("(nn)", spans->at[2 * i], spans->at[2 * i + 1]);
        if (span == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, span);
    }
    return list;
}

static int scan_names(const uint8_t *classes, Py_ssize_t n, Spans *spans) {
    for (Py_ssize_t at = 0; at < n;) {
        if (classes[at] != 'A') {
            at++;
            continue;
        }
        Py_ssize_t end = at + 1;
        for (;;) {
            while (in_name(classes[end])) {
                end++;
            }
            Py_ssize_t next = end;
            while (classes[next] == 'S') {
                next++;
            }
            if (next == end || classes[next] != 'A') {
                break;
            }
            end = next + 1;
        }
        if (!add_span(spans, at, end)) {
            return 0;
        }
        at = end;
    }
    return 1;
}

static int scan_numbers(const uint8_t *classes, Py_ssize_t n, Spans *spans) {
    for (Py_ssize_t at = 0; at < n; at++) {
        if (classes[at] != 'D' || (at > 0 && is_word(classes[at - 1]))) {
            continue;
        }
        Py_ssize_t run = at + 1;
        while (in_number(classes[run])) {
            run++;
        }
        Py_ssize_t end = -1;
        for (Py_ssize_t e = run; e >= at + 2 && end < 0; e--) {
            if (classes[e - 1] == 'D' && !is_word(classes[e])) {
                end = e;
            }
        }
        if (end < 0 && !is_word(classes[at + 1])) {
            end = at + 1;
        }
        if (end < 0) {
            continue;
        }
        if (!add_span(spans, at, end)) {
            return 0;
        }
        at = end - 1;
    }
    return 1;
}

/* The class of each character of ``text`` into ``classes`` (and a 0 past the end, as the
 * patterns see the end of the text): 0 when one is a "Z", -1 with an error set. */
static int classify(PyObject *text, const Py_buffer *table, uint8_t *classes) {
    if (table->len != 0x10000) {
        PyErr_SetString(PyExc_ValueError, "table: not one class for each basic-plane code point");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const uint8_t *class_of = table->buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 point = PyUnicode_READ(kind, data, i);
        if (point >= 0x10000 || class_of[point] == 'Z') {
            return 0;
        }
        classes[i] = class_of[point];
    }
    classes[n] = 0;
    return 1;
}

static PyObject *names_and_numbers(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *text;
    Py_buffer table;
    if (!PyArg_ParseTuple(args, "Uy*", &text, &table)) {
        return NULL;
    }
    PyObject *result = NULL, *names = NULL, *numbers = NULL;
    Spans name_spans = {NULL, 0, 0}, number_spans = {NULL, 0, 0};
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    uint8_t *classes = malloc((size_t)n + 1);
    if (classes == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int classified = classify(text, &table, classes);
    if (classified <= 0) {
        result = classified == 0 ? Py_NewRef(Py_None) : NULL;
        goto done;
    }
    if (scan_names(classes, n, &name_spans) && scan_numbers(classes, n, &number_spans)
        && (names = span_list(&name_spans)) != NULL
        && (numbers = span_list(&number_spans)) != NULL) {
        result = PyTuple_Pack(2, names, numbers);
    }
done:
    free(classes), free(name_spans.at), free(number_spans.at);
    Py_XDECREF(names), Py_XDECREF(numbers);
    PyBuffer_Release(&table);
    return result;
}

/* The units of each name (``cluster._names``), for a name written in ASCII and typographic
 * marks (``tokens.TYPOGRAPHIC_MARKS``: "Trump\u2019s"), nearly all: its runs of ASCII word
 * characters (``tokens.ASCII_IS_WORD``), lower-cased (ASCII's case folding; the marks are gaps,
 * as ``plain_punctuation`` makes them), without the first when the name opens a sentence: after
 * the text's start, or after one of ``ends`` and at most ``gap`` whitespace characters
 * (``str.isspace``). The Python path folds the names, cuts them into units and looks around
 * each one: 50 us an article of a hundred names, where this makes only the lists and their
 * strings.
 * name_units(text, spans, ends, gap, marks, ascii_word) -> for each (start, end) span, the
 * list of its units, or None when the name holds another character (the Python path serves
 * it); ``ascii_word`` int8[128], nonzero for a word character. */
static int holds(PyObject *characters, Py_UCS4 c) {
    return PyUnicode_FindChar(characters, c, 0, PyUnicode_GET_LENGTH(characters), 1) >= 0;
}

/* Whether ``c`` is an ASCII word character, by ``ascii_word`` (``tokens``' table of them). */
static int is_word_in(const int8_t *ascii_word, Py_UCS4 c) { return c < 128 && ascii_word[c]; }

static int opens_sentence(int kind, const void *data, Py_ssize_t at, PyObject *ends,
                          Py_ssize_t gap) {
    if (at == 0) {
        return 1;
    }
    Py_ssize_t before = at < gap + 1 ? at : gap + 1, spaces = 0;
    while (spaces < before && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, at - 1 - spaces))) {
        spaces++;
    }
    if (spaces == before) { /* only spaces as far as it looks: no sentence end */
        return 0;
    }
    return holds(ends, PyUnicode_READ(kind, data, at - 1 - spaces));
}

/* The units of a name at [start, end) of ASCII and ``marks``, or Py_None when it is not one. */
static PyObject *units_of_name(int kind, const void *data, Py_ssize_t start, Py_ssize_t end,
                               int drop_first, PyObject *marks, const int8_t *ascii_word) {
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c > 127 && !holds(marks, c)) {
            return Py_NewRef(Py_None);
        }
    }
    PyObject *units = PyList_New(0);
    for (Py_ssize_t i = start; units != NULL && i < end;) {
        if (!is_word_in(ascii_word, PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t first = i;
        while (i < end && is_word_in(ascii_word, PyUnicode_READ(kind, data, i))) {
            i++;
        }
        if (drop_first) {
            drop_first = 0;
            continue;
        }
        PyObject *word = PyUnicode_New(i - first, 127);
        if (word == NULL) {
            Py_CLEAR(units);
            break;
        }
        Py_UCS1 *out = PyUnicode_1BYTE_DATA(word);
        for (Py_ssize_t j = first; j < i; j++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, j);
            out[j - first] = (Py_UCS1)ascii_lower(c);
        }
        if (PyList_Append(units, word) < 0) {
            Py_CLEAR(units);
        }
        Py_DECREF(word);
    }
    return units;
}

static PyObject *name_units(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *text, *spans, *ends, *marks;
    Py_ssize_t gap;
    Py_buffer ascii_word;
    if (!PyArg_ParseTuple(args, "UO!UnUy*", &text, &PyList_Type, &spans, &ends, &gap, &marks,
                          &ascii_word)) {
        return NULL;
    }
    if (ascii_word.len != 128) {
        PyErr_SetString(PyExc_ValueError, "ascii_word: not one flag for each ASCII character");
        PyBuffer_Release(&ascii_word);
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(spans), length = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *found = PyList_New(count);
    for (Py_ssize_t s = 0; found != NULL && s < count; s++) {
        Py_ssize_t start, end;
        PyObject *span = PyList_GET_ITEM(spans, s);
        if (!PyTuple_Check(span) || !PyArg_ParseTuple(span, "nn", &start, &end)
            || start < 0 || end < start || end > length) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "a span is not a (start, end) within the text");
            }
            Py_CLEAR(found);
            break;
        }
        PyObject *units = units_of_name(kind, data, start, end,
                                        opens_sentence(kind, data, start, ends, gap), marks,
                                        ascii_word.buf);
        if (units == NULL) {
            Py_CLEAR(found);
            break;
        }
        PyList_SET_ITEM(found, s, units);
    }
    PyBuffer_Release(&ascii_word);
    return found;
}

/* An article's name and number terms at once (``cluster._name_terms``), for a text whose names
 * are Latin-1 and typographic marks (``tokens.TYPOGRAPHIC_MARKS``: "O\u2019Brien") and whose
 * numbers are ASCII, nearly all: where the Python path makes span tuples, unit strings, joined
 * phrases and their UTF-8, here the spans stay C arrays and each name's units (runs of
 * ``is_word`` characters, the marks gaps) are hashed and joined as they are case-folded (each
 * character as ``fold``, its case-folded code point; 0 where that is several).
 * name_terms(text, table, ends, gap, marks, is_word, fold, base, length_mix, finals, shift)
 *   -> (hashes, names, numbers), or None where the Python path serves (a "Z" in the text, a
 *   name of other characters or of one that folds to several, a number of other digits)
 *   hashes   bytes: the uint64 unit hash (``span_hashes``' hash of its code points) of each unit
 *            of each name, in order, a name opening a sentence without its first
 *   names    [bytes]: UTF-8 of "e" and the units of each name that has any, joined by spaces
 *   numbers  [bytes]: "n" and each number without its thousands commas */
static PyObject *name_terms(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *text, *ends, *marks;
    Py_ssize_t gap;
    Py_buffer table, word_table, fold_table, finals;
    unsigned long long base, length_mix;
    int shift;
    if (!PyArg_ParseTuple(args, "Uy*UnUy*y*KKy*i", &text, &table, &ends, &gap, &marks,
                          &word_table, &fold_table, &base, &length_mix, &finals, &shift)) {
        return NULL;
    }
    PyObject *result = NULL, *names = NULL, *numbers = NULL, *hashes = NULL;
    Spans name_spans = {NULL, 0, 0}, number_spans = {NULL, 0, 0};
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), nfinals, units = 0;
    uint8_t *classes = malloc((size_t)n + 1);
    char *phrase = malloc(2 * (size_t)n + 2); /* a folded character is 2 UTF-8 bytes at most */
    uint64_t *unit_hashes = malloc(sizeof(uint64_t) * ((size_t)n / 2 + 1));
    if (classes == NULL || phrase == NULL || unit_hashes == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (word_table.len != 256 || fold_table.len != 256 * 4
        || !items(&finals, 8, &nfinals, "finals") || shift < 0 || shift > 63) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "is_word not 256 flags, fold not 256 code points, "
                                              "or the shift is not 0 to 63");
        }
        goto done;
    }
    int classified = classify(text, &table, classes);
    if (classified <= 0) {
        result = classified == 0 ? Py_NewRef(Py_None) : NULL;
        goto done;
    }
    if (!scan_names(classes, n, &name_spans) || !scan_numbers(classes, n, &number_spans)
        || (names = PyList_New(0)) == NULL || (numbers = PyList_New(0)) == NULL) {
        goto done;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const int8_t *is_word = word_table.buf;
    const uint32_t *fold = fold_table.buf;
    for (Py_ssize_t s = 0; s < name_spans.count; s++) {
        Py_ssize_t start = name_spans.at[2 * s], end = name_spans.at[2 * s + 1];
        for (Py_ssize_t i = start; i < end; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (c > 255 ? !holds(marks, c) : is_word[c] && fold[c] == 0) {
                result = Py_NewRef(Py_None);
                goto done;
            }
        }
        int drop_first = opens_sentence(kind, data, start, ends, gap);
        Py_ssize_t used = 1, named = 0;
        phrase[0] = 'e';
        for (Py_ssize_t i = start; i < end;) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (c > 255 || !is_word[c]) {
                i++;
                continue;
            }
            Py_ssize_t first = i;
            while (i < end && (c = PyUnicode_READ(kind, data, i)) <= 255 && is_word[c]) {
                i++;
            }
            if (drop_first) {
                drop_first = 0;
                continue;
            }
            if (named++ > 0) {
                phrase[used++] = ' ';
            }
            uint64_t hash = 0, power = 1;
            for (Py_ssize_t j = first; j < i; j++) {
                uint32_t folded = fold[PyUnicode_READ(kind, data, j)];
                if (folded < 0x80) {
                    phrase[used++] = (char)folded;
                } else { /* below 0x800: two UTF-8 bytes */
                    phrase[used++] = (char)(0xC0 | folded >> 6);
                    phrase[used++] = (char)(0x80 | (folded & 0x3F));
                }
                hash += (uint64_t)folded * power;
                power *= base;
            }
            unit_hashes[units++] = finished(hash, i - first, length_mix, finals.buf, nfinals,
                                            shift);
        }
        if (named > 0) {
            PyObject *joined = PyBytes_FromStringAndSize(phrase, used);
            if (joined == NULL || PyList_Append(names, joined) < 0) {
                Py_XDECREF(joined);
                goto done;
            }
            Py_DECREF(joined);
        }
    }
    for (Py_ssize_t s = 0; s < number_spans.count; s++) {
        Py_ssize_t used = 1;
        phrase[0] = 'n';
        for (Py_ssize_t i = number_spans.at[2 * s]; i < number_spans.at[2 * s + 1]; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (c > 127) {
                result = Py_NewRef(Py_None);
                goto done;
            }
            if (c != ',') {
                phrase[used++] = (char)c;
            }
        }
        PyObject *number = PyBytes_FromStringAndSize(phrase, used);
        if (number == NULL || PyList_Append(numbers, number) < 0) {
            Py_XDECREF(number);
            goto done;
        }
        Py_DECREF(number);
    }
    hashes = PyBytes_FromStringAndSize((const char *)unit_hashes,
                                       (Py_ssize_t)sizeof(uint64_t) * units);
    if (hashes != NULL) {
        result = PyTuple_Pack(3, hashes, names, numbers);
    }
done:
    free(classes), free(phrase), free(unit_hashes), free(name_spans.at), free(number_spans.at);
    Py_XDECREF(names), Py_XDECREF(numbers), Py_XDECREF(hashes);
    PyBuffer_Release(&table), PyBuffer_Release(&word_table), PyBuffer_Release(&fold_table);
    PyBuffer_Release(&finals);
    return result;
}

/* The strongest terms: ``cluster.strongest`` partitions the weights for the cut (the
 * ``count``-th largest), then marks those above it and the first tied ones at it, in five NumPy
 * calls on a few hundred weights. Here a quickselect on a copy finds the same cut and one pass
 * writes the same positions, ascending: a tie at the cut goes to the lower positions.
 * strongest(out, weights) -> True, or None for a NaN weight (the NumPy path serves it)
 *   out      writable intp[count], 0 < count < len(weights)
 *   weights  float32 or float64 */
static double kth_smallest(double *value, Py_ssize_t n, Py_ssize_t k) {
    Py_ssize_t low = 0, high = n - 1;
    while (low < high) {
        double a = value[low], b = value[low + (high - low) / 2], c = value[high];
        double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        Py_ssize_t i = low, j = high;
        while (i <= j) {
            while (value[i] < pivot) {
                i++;
            }
            while (value[j] > pivot) {
                j--;
            }
            if (i <= j) {
                double swap = value[i];
                value[i++] = value[j], value[j--] = swap;
            }
        }
        if (k <= j) {
            high = j;
        } else if (k >= i) {
            low = i;
        } else {
            break; /* between the two parts: every value there is the pivot */
        }
    }
    return value[k];
}

/* Positions of the ``count`` largest of ``value[0..n)``, ascending, into ``position`` (as
 * ``strongest`` writes them); ``scratch`` holds n doubles. No value may be NaN. */
static void strongest_positions(const double *value, Py_ssize_t n, Py_ssize_t count,
                                double *scratch, Py_ssize_t *position) {
    memcpy(scratch, value, sizeof(double) * (size_t)n);
    double cut = kth_smallest(scratch, n, n - count);
    Py_ssize_t above = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        above += value[i] > cut;
    }
    Py_ssize_t tied = count - above, kept = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (value[i] > cut || (value[i] == cut && tied-- > 0)) {
            position[kept++] = i;
        }
    }
}

static PyObject *strongest(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out;
    PyObject *source;
    if (!PyArg_ParseTuple(args, "w*O", &out, &source)) {
        return NULL;
    }
    Py_buffer weights = {0};
    PyObject *result = NULL;
    double *value = NULL;
    Py_ssize_t count, n;
    if (PyObject_GetBuffer(source, &weights, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&out);
        return NULL;
    }
    int wide = weights.format != NULL && strcmp(weights.format, "d") == 0;
    int narrow = weights.format != NULL && strcmp(weights.format, "f") == 0;
    if (!(wide || narrow) || !items(&weights, wide ? 8 : 4, &n, "weights")
        || !items(&out, sizeof(Py_ssize_t), &count, "out") || count <= 0 || count >= n) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "weights are not float32 or float64, or out does "
                                              "not hold fewer positions than there are weights");
        }
        goto done;
    }
    value = malloc(sizeof(double) * 2 * (size_t)n); /* the weights, then a copy to select in */
    if (value == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        value[i] = wide ? ((const double *)weights.buf)[i] : ((const float *)weights.buf)[i];
        if (value[i] != value[i]) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    strongest_positions(value, n, count, value + n, out.buf);
    result = Py_NewRef(Py_True);
done:
    free(value);
    PyBuffer_Release(&out), PyBuffer_Release(&weights);
    return result;
}

/* NumPy's float64 sum (``np.add.reduce``): pairwise, eight accumulators in blocks of up to
 * 128, from 0.0, so the same bits as the NumPy path's ``_norm``. */
#define PAIRWISE_BLOCK 128

static double pairwise_sum(const double *a, Py_ssize_t n) {
    if (n < 8) {
        double sum = 0.0;
        for (Py_ssize_t i = 0; i < n; i++) {
            sum += a[i];
        }
        return sum;
    }
    if (n <= PAIRWISE_BLOCK) {
        double r[8];
        for (int j = 0; j < 8; j++) {
            r[j] = a[j];
        }
        Py_ssize_t i = 8;
        for (; i < n - (n % 8); i += 8) {
            for (int j = 0; j < 8; j++) {
                r[j] += a[i + j];
            }
        }
        double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) {
            sum += a[i];
        }
        return sum;
    }
    Py_ssize_t half = n / 2;
    half -= half % 8;
    return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

/* A weighted article made a unit vector (``cluster._normalized``): weights rounded to float32,
 * the ``limit`` strongest kept (as ``strongest`` keeps them), ordered by term, divided by their
 * norm: a dozen NumPy calls on a few hundred values, here in one pass over each step.
 * normalized(out_terms, out_weights, terms, weights, limit) -> (count, norm), or None where
 * the NumPy path serves (a NaN weight, a repeated term, no limit)
 *   out_terms    writable uint32[min(n, limit)], out_weights writable float32[min(n, limit)]
 *   terms        uint32[n], weights float64[n] */
static PyObject *normalized(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out_terms, out_weights, terms, weights;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "w*w*y*y*n", &out_terms, &out_weights, &terms, &weights,
                          &limit)) {
        return NULL;
    }
    PyObject *result = NULL;
    double *value = NULL;
    Py_ssize_t *position = NULL;
    Py_ssize_t n, nw, nterms, nweights;
    if (!items(&terms, 4, &n, "terms") || !items(&weights, 8, &nw, "weights")
        || !items(&out_terms, 4, &nterms, "out_terms")
        || !items(&out_weights, 4, &nweights, "out_weights")) {
        goto done;
    }
    Py_ssize_t kept = n < limit ? n : limit;
    if (nw != n || nterms != kept || nweights != kept) {
        PyErr_SetString(PyExc_ValueError, "terms and weights differ in length, or an out array "
                                          "does not hold min(n, limit)");
        goto done;
    }
    if (limit <= 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    value = malloc(sizeof(double) * (2 * (size_t)n + 1));
    position = malloc(sizeof(Py_ssize_t) * ((size_t)n + 1));
    if (value == NULL || position == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const double *weight = weights.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        value[i] = (double)(float)weight[i];
        if (value[i] != value[i]) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        position[i] = i;
    }
    if (n > limit) {
        strongest_positions(value, n, limit, value + n, position);
    }
    const uint32_t *term = terms.buf;
    uint32_t *out_term = out_terms.buf;
    double *kept_value = value + n; /* the kept weights, in term order */
    for (Py_ssize_t i = 0; i < kept; i++) { /* insertion sort: the terms come sorted */
        uint32_t id = term[position[i]];
        double kept_weight = value[position[i]];
        Py_ssize_t at = i;
        while (at > 0 && out_term[at - 1] > id) {
            out_term[at] = out_term[at - 1], kept_value[at] = kept_value[at - 1];
            at--;
        }
        if (at > 0 && out_term[at - 1] == id) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        out_term[at] = id, kept_value[at] = kept_weight;
    }
    for (Py_ssize_t i = 0; i < kept; i++) {
        value[i] = kept_value[i] * kept_value[i];
    }
    double norm = sqrt(pairwise_sum(value, kept));
    float *out_weight = out_weights.buf;
    for (Py_ssize_t i = 0; i < kept; i++) {
        out_weight[i] = (float)(norm > 0 ? kept_value[i] / norm : kept_value[i]);
    }
    result = Py_BuildValue("(nd)", kept, norm);
done:
    free(value), free(position);
    PyBuffer_Release(&out_terms), PyBuffer_Release(&out_weights), PyBuffer_Release(&terms);
    PyBuffer_Release(&weights);
    return result;
}

/* Term sums: the NumPy path sorts the ids packed with their positions, marks where each id's
 * run opens, scatters the run numbers back (``unique_inverse``) and adds the weights with
 * ``np.bincount``: a dozen calls whose fixed costs are most of the work on an article's few
 * hundred terms. Here the packed ids are sorted by a stable radix sort on the id (11 bits a
 * pass; a pass where every id has the same digit is skipped, as the top one is for DF_BITS-wide
 * ids) and each run's weights are added in position order from 0.0, as ``np.bincount`` adds
 * them, so the sums are the same bit for bit.
 *
 * sums(out_terms, out_sums, terms, weights) -> count
 *   out_terms  writable uint32[>= n]: the distinct terms, ascending, in the first ``count``
 *   out_sums   writable float64[>= n]: each one's summed weights
 *   terms      uint32[n], weights float64[n] */
#define DIGIT_BITS 11
#define DIGITS 3 /* 33 bits: every uint32 id */
#define BUCKETS (1 << DIGIT_BITS)

/* The distinct ``term``s, ascending, into ``unique``, and each one's ``weight``s summed in
 * position order from 0.0, into ``sum``: their count, or -1 with MemoryError set. */
static Py_ssize_t sum_by_term(const uint32_t *term, const double *weight, Py_ssize_t n,
                              uint32_t *unique, double *sum) {
    if (n == 0) {
        return 0;
    }
    uint64_t *keys = malloc(sizeof(uint64_t) * 2 * (size_t)n);
    uint32_t *counts = calloc(DIGITS * BUCKETS, sizeof(uint32_t));
    if (keys == NULL || counts == NULL) {
        free(keys), free(counts);
        PyErr_NoMemory();
        return -1;
    }
    uint64_t *from = keys, *to = keys + n;
    for (Py_ssize_t i = 0; i < n; i++) {
        from[i] = (uint64_t)term[i] << 32 | (uint64_t)i;
        for (int d = 0; d < DIGITS; d++) {
            counts[d * BUCKETS + ((term[i] >> (d * DIGIT_BITS)) & (BUCKETS - 1))]++;
        }
    }
    for (int d = 0; d < DIGITS; d++) {
        uint32_t *count_of = counts + d * BUCKETS;
        int shift = 32 + d * DIGIT_BITS;
        if (count_of[(from[0] >> shift) & (BUCKETS - 1)] == (uint32_t)n) {
            continue; /* one digit for all: this pass would keep the order */
        }
        uint32_t at = 0;
        for (int b = 0; b < BUCKETS; b++) {
            uint32_t here = count_of[b];
            count_of[b] = at;
            at += here;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            to[count_of[(from[i] >> shift) & (BUCKETS - 1)]++] = from[i];
        }
        uint64_t *swap = from;
        from = to, to = swap;
    }
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t id = (uint32_t)(from[i] >> 32);
        if (count == 0 || unique[count - 1] != id) {
            unique[count] = id;
            sum[count++] = 0.0;
        }
        sum[count - 1] += weight[from[i] & UINT32_MAX];
    }
    free(keys), free(counts);
    return count;
}

static PyObject *sums(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out_terms, out_sums, terms, weights;
    if (!PyArg_ParseTuple(args, "w*w*y*y*", &out_terms, &out_sums, &terms, &weights)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t n, nw, nterms, nsums;
    if (!items(&terms, 4, &n, "terms") || !items(&weights, 8, &nw, "weights")
        || !items(&out_terms, 4, &nterms, "out_terms")
        || !items(&out_sums, 8, &nsums, "out_sums")) {
        goto done;
    }
    if (nw != n || nterms < n || nsums < n || n > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "terms and weights differ in length, or an out array "
                                          "is shorter than them");
        goto done;
    }
    Py_ssize_t count = sum_by_term(terms.buf, weights.buf, n, out_terms.buf, out_sums.buf);
    if (count >= 0) {
        result = PyLong_FromSsize_t(count);
    }
done:
    PyBuffer_Release(&out_terms), PyBuffer_Release(&out_sums), PyBuffer_Release(&terms);
    PyBuffer_Release(&weights);
    return result;
}

/* An article's term ids made from its parts and summed by term (``term_counts``): the NumPy
 * path masks or mixes each part's hashes, makes arrays of the phrase ids and of the weights,
 * concatenates them and calls ``term_sums``: a dozen calls on a few hundred values. Here each
 * part's ids and weight are written where the concatenation would put them, then summed as
 * ``sums`` sums them.
 *
 * gathered(out_terms, out_sums, parts, mask, salt, mix, shift) -> count
 *   out_terms, out_sums  as ``sums``', at least as long as the parts together
 *   parts  a list of (values, kind, weight): kind 0, uint64 word hashes, each ``h & mask``;
 *          1, uint64 name-word hashes, each ``((h ^ salt) * mix >> shift) & mask``; 2, a list
 *          of ints (phrase ids), each ``& mask`` */
enum { WORD_PART, NAME_PART, ID_PART };

static PyObject *gathered(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out_terms, out_sums;
    PyObject *parts;
    unsigned long long mask, salt, mix;
    int shift;
    if (!PyArg_ParseTuple(args, "w*w*O!KKKi", &out_terms, &out_sums, &PyList_Type, &parts,
                          &mask, &salt, &mix, &shift)) {
        return NULL;
    }
    PyObject *result = NULL;
    uint32_t *ids = NULL;
    double *weights = NULL;
    Py_ssize_t nterms, nsums, n = 0;
    if (!items(&out_terms, 4, &nterms, "out_terms") || !items(&out_sums, 8, &nsums, "out_sums")) {
        goto done;
    }
    if (shift < 0 || shift > 63) {
        PyErr_SetString(PyExc_ValueError, "the shift is not 0 to 63");
        goto done;
    }
    Py_ssize_t capacity = nterms < nsums ? nterms : nsums;
    ids = malloc(sizeof(uint32_t) * ((size_t)capacity + 1));
    weights = malloc(sizeof(double) * ((size_t)capacity + 1));
    if (ids == NULL || weights == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t p = 0; p < PyList_GET_SIZE(parts); p++) {
        PyObject *values;
        int kind;
        double weight;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(parts, p), "Oid", &values, &kind, &weight)) {
            goto done;
        }
        if (kind == ID_PART) {
            if (!PyList_Check(values)) {
                PyErr_SetString(PyExc_TypeError, "phrase ids are not a list");
                goto done;
            }
            Py_ssize_t count = PyList_GET_SIZE(values);
            if (count > capacity - n) {
                PyErr_SetString(PyExc_ValueError, "the parts outnumber the out arrays");
                goto done;
            }
            for (Py_ssize_t i = 0; i < count; i++) {
                unsigned long long id = PyLong_AsUnsignedLongLongMask(PyList_GET_ITEM(values, i));
                if (id == (unsigned long long)-1 && PyErr_Occurred()) {
                    goto done;
                }
                ids[n] = (uint32_t)(id & mask), weights[n++] = weight;
            }
            continue;
        }
        Py_buffer view;
        if (PyObject_GetBuffer(values, &view, PyBUF_C_CONTIGUOUS) < 0) {
            goto done;
        }
        Py_ssize_t count;
        int fine = items(&view, 8, &count, "hashes");
        if (fine && (count > capacity - n || (kind != WORD_PART && kind != NAME_PART))) {
            PyErr_SetString(PyExc_ValueError, "the parts outnumber the out arrays, or a part's "
                                              "kind is unknown");
            fine = 0;
        }
        const uint64_t *hash = view.buf;
        for (Py_ssize_t i = 0; fine && i < count; i++) {
            uint64_t h = kind == WORD_PART ? hash[i] : (hash[i] ^ salt) * mix >> shift;
            ids[n] = (uint32_t)(h & mask), weights[n++] = weight;
        }
        PyBuffer_Release(&view);
        if (!fine) {
            goto done;
        }
    }
    Py_ssize_t count = sum_by_term(ids, weights, n, out_terms.buf, out_sums.buf);
    if (count >= 0) {
        result = PyLong_FromSsize_t(count);
    }
done:
    free(ids), free(weights);
    PyBuffer_Release(&out_terms), PyBuffer_Release(&out_sums);
    return result;
}

/* Candidate stories: ``TermIndex.candidates`` counts a vote for each story among the newest
 * ``read`` of each query term's posting and ranks them by (votes, story), both descending. In
 * Python a vote is an int object hashed into a ``Counter``, and the ranking sorts a list of
 * packed ints: at a full index (16 terms of 32 stories each) that was most of the lookup. Here
 * the votes go into an open-addressing table of a few KB, and the packed (votes << 48 | story)
 * are sorted in C; the stories returned are the same, in the same order.
 *
 * candidates(lone, postings, terms, read, limit) -> [story]
 *   lone      int64[2**DF_BITS]: a term's one story + 1, 0 where it has none or several
 *   postings  dict: term id -> array('q') of its stories, oldest first (two or more)
 *   terms     uint32[q]: the query's terms
 *   read, limit  the newest stories read of a posting (at least one), the stories returned
 *                at most */
#define STORY_BITS 48
#define NO_STORY INT64_MIN

typedef struct {
    int64_t *story;
    uint64_t *votes;
    uint64_t mask;
    Py_ssize_t count;
} Votes;

/* An empty table of ``slots`` (a power of two); 0 on no memory. */
static int make_votes(Votes *table, Py_ssize_t slots) {
    table->story = malloc(sizeof(int64_t) * (size_t)slots);
    table->votes = calloc((size_t)slots, sizeof(uint64_t));
    table->mask = (uint64_t)(slots - 1);
    table->count = 0;
    if (table->story == NULL || table->votes == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    for (Py_ssize_t s = 0; s < slots; s++) {
        table->story[s] = NO_STORY;
    }
    return 1;
}

static uint64_t *slot_of(const Votes *table, int64_t story) {
    uint64_t slot = ((uint64_t)story * 0x9E3779B97F4A7C15u >> 20) & table->mask;
    while (table->story[slot] != NO_STORY && table->story[slot] != story) {
        slot = (slot + 1) & table->mask;
    }
    table->story[slot] = story;
    return &table->votes[slot];
}

/* The table at twice its slots, when it is half full: its probes stay short. */
static int grow(Votes *table) {
    Votes old = *table;
    Py_ssize_t slots = (Py_ssize_t)(old.mask + 1);
    if (2 * (old.count + 1) <= slots) {
        return 1;
    }
    if (!make_votes(table, 2 * slots)) {
        free(table->story), free(table->votes);
        *table = old;
        return 0;
    }
    for (Py_ssize_t s = 0; s < slots; s++) {
        if (old.story[s] != NO_STORY) {
            *slot_of(table, old.story[s]) = old.votes[s];
        }
    }
    table->count = old.count;
    free(old.story), free(old.votes);
    return 1;
}

static int vote(Votes *table, int64_t story) {
    if (story < 0 || story >= ((int64_t)1 << STORY_BITS)) {
        PyErr_SetString(PyExc_ValueError, "a story serial outside [0, 2**48)");
        return 0;
    }
    if (!grow(table)) {
        return 0;
    }
    uint64_t *votes = slot_of(table, story);
    table->count += *votes == 0;
    *votes += 1;
    return 1;
}

static int descending(const void *left, const void *right) {
    uint64_t a = *(const uint64_t *)left, b = *(const uint64_t *)right;
    return (a < b) - (a > b);
}

/* Vote for the newest ``read`` stories of the term's posting (an array of int64). */
static int vote_posting(Votes *table, PyObject *postings, uint32_t term, Py_ssize_t read) {
    PyObject *key = PyLong_FromUnsignedLong(term);
    if (key == NULL) {
        return 0;
    }
    PyObject *posting = PyDict_GetItemWithError(postings, key); /* borrowed */
    Py_DECREF(key);
    if (posting == NULL) {
        return !PyErr_Occurred();
    }
    Py_buffer view;
    if (PyObject_GetBuffer(posting, &view, PyBUF_C_CONTIGUOUS) < 0) {
        return 0;
    }
    Py_ssize_t n;
    int fine = items(&view, 8, &n, "posting");
    const int64_t *story = view.buf;
    for (Py_ssize_t at = n > read ? n - read : 0; fine && at < n; at++) {
        fine = vote(table, story[at]);
    }
    PyBuffer_Release(&view);
    return fine;
}

static PyObject *candidates(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer lone, terms;
    PyObject *postings;
    Py_ssize_t read, limit;
    if (!PyArg_ParseTuple(args, "y*O!y*nn", &lone, &PyDict_Type, &postings, &terms, &read,
                          &limit)) {
        return NULL;
    }
    PyObject *result = NULL;
    Votes table = {NULL, NULL, 0, 0};
    Py_ssize_t q, stories;
    if (!items(&lone, 8, &stories, "lone") || !items(&terms, 4, &q, "terms")) {
        goto done;
    }
    if (read < 1) {
        PyErr_SetString(PyExc_ValueError, "read must be at least 1");
        goto done;
    }
    if (!make_votes(&table, 64)) {
        goto done;
    }
    const int64_t *one = lone.buf;
    const uint32_t *term = terms.buf;
    for (Py_ssize_t j = 0; j < q; j++) {
        if ((Py_ssize_t)term[j] >= stories) {
            PyErr_SetString(PyExc_IndexError, "a term id past the lone-story table");
            goto done;
        }
        if (one[term[j]] ? !vote(&table, one[term[j]] - 1)
                         : !vote_posting(&table, postings, term[j], read)) {
            goto done;
        }
    }
    /* packed over the votes: a slot's votes << 48 | its story, then sorted */
    uint64_t *packed = table.votes;
    Py_ssize_t kept = 0, slots = (Py_ssize_t)(table.mask + 1);
    for (Py_ssize_t s = 0; s < slots; s++) {
        if (table.story[s] != NO_STORY) {
            packed[kept++] = table.votes[s] << STORY_BITS | (uint64_t)table.story[s];
        }
    }
    qsort(packed, (size_t)kept, sizeof(uint64_t), descending);
    kept = limit < kept ? (limit > 0 ? limit : 0) : kept;
    result = PyList_New(kept);
    for (Py_ssize_t at = 0; result != NULL && at < kept; at++) {
        PyObject *story = PyLong_FromLongLong(
            (long long)(packed[at] & (((uint64_t)1 << STORY_BITS) - 1)));
        if (story == NULL) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, at, story);
    }
done:
    free(table.story), free(table.votes);
    PyBuffer_Release(&lone), PyBuffer_Release(&terms);
    return result;
}

/* Document frequencies counted (``DocumentFrequencies.add``): each distinct term of the
 * document adds one to its counter, as ``counts[terms] += 1`` does (a repeated term once).
 * The counters are MBs, so each is a cache miss: a first pass marks each term's counter with
 * the top bit (no counter comes near it: it counts documents of a window) with the counters a
 * few terms ahead prefetched, a second adds one to each marked counter and clears its mark.
 * NumPy gathers them into a copy, adds and scatters back.
 *
 * count(counts, terms)
 *   counts  writable uint32[ids]; terms uint32[n], each below ids */
#define MARK 0x80000000u
#define COUNTS_AHEAD 8

static PyObject *count(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer counts, terms;
    if (!PyArg_ParseTuple(args, "w*y*", &counts, &terms)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t ids, n;
    if (!items(&counts, 4, &ids, "counts") || !items(&terms, 4, &n, "terms")) {
        goto done;
    }
    uint32_t *counter = counts.buf;
    const uint32_t *term = terms.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (term[i] >= (uint64_t)ids) {
            PyErr_Format(PyExc_ValueError, "term %u is outside the %zd counters", term[i], ids);
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + COUNTS_AHEAD < n) {
            __builtin_prefetch(counter + term[i + COUNTS_AHEAD], 1);
        }
        counter[term[i]] |= MARK;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t value = counter[term[i]];
        if (value & MARK) {
            counter[term[i]] = (value & ~MARK) + 1;
        }
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&counts), PyBuffer_Release(&terms);
    return result;
}

static PyMethodDef methods[] = {
    {"count", count, METH_VARARGS,
     "count(counts, terms): one more in each distinct term's counter (uint32)."},
    {"names_and_numbers", names_and_numbers, METH_VARARGS,
     "names_and_numbers(text, table) -> (name spans, number spans), or None for a text with a "
     "code point past the basic plane or a surrogate."},
    {"name_units", name_units, METH_VARARGS,
     "name_units(text, spans, ends, gap, marks, ascii_word) -> the units of each name of ASCII "
     "and marks "
     "(lower-cased, the first dropped where the name opens a sentence), None for another."},
    {"name_terms", name_terms, METH_VARARGS,
     "name_terms(text, table, ends, gap, marks, is_word, fold, base, length_mix, finals, "
     "shift) -> (unit hashes, names, numbers) of a text of Latin-1 names and ASCII numbers, "
     "else None."},
    {"strongest", strongest, METH_VARARGS,
     "strongest(out, weights) -> True: the positions of the len(out) largest weights, "
     "ascending, a tie at the cut to the lower positions; None for a NaN weight."},
    {"dots", dots, METH_VARARGS,
     "dots(out, query_terms, query_weights, vectors): the dot product of the query with each "
     "vector (a cluster.Vector), into out (float64)."},
    {"candidates", candidates, METH_VARARGS,
     "candidates(lone, postings, terms, read, limit) -> the stories with the most votes among "
     "the newest read stories of each term's posting, most votes first, then the latest."},
    {"normalized", normalized, METH_VARARGS,
     "normalized(out_terms, out_weights, terms, weights, limit) -> (count, norm): the limit "
     "strongest float32-rounded weights by term, divided by their norm; None where the NumPy "
     "path serves."},
    {"gathered", gathered, METH_VARARGS,
     "gathered(out_terms, out_sums, parts, mask, salt, mix, shift) -> count: the term ids of "
     "an article's parts (word hashes, name-word hashes, phrase ids), summed by term as sums "
     "sums them."},
    {"sums", sums, METH_VARARGS,
     "sums(out_terms, out_sums, terms, weights) -> count: the distinct terms, ascending, and "
     "each one's weights summed in position order."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_terms",
    "An article's terms: name and number spans, name units, the strongest terms, dot products, "
    "sums by term, candidate stories, document frequencies, unit vectors (_terms.c).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__terms(void) { return PyModule_Create(&definition); }

/* The loops over a text's units, in C: their kinds and runs (``tokens``), their hashes and
 * shingles (``fingerprint``), MinHash (``dedup``) and SimHash; a line's character counts,
 * title-casing, word signals and furniture key (``normalize.text``, ``normalize.lines``,
 * ``normalize.memory``); and character sets made plain (``tokens``, ``normalize.lines``,
 * ``normalize.repair``). The kernel the compiled build adds
 * (setup.py with ARTICLE_INGEST_COMPILE=1).
 *
 * Each function computes exactly what its NumPy path computes (unsigned 64-bit arithmetic wraps
 * the same way in both), in one pass and without temporaries: on an article's few thousand
 * characters and few hundred hashes, the NumPy calls' fixed costs and intermediate arrays are
 * most of the work. Constants come from the Python side, so they have one definition. Results
 * are written into arrays the caller allocates (no NumPy headers needed to build this).
 *
 * kinds(out, points, table, astral) -> the largest kind
 *     out[i] = table[points[i]] below len(table); above it, by astral = (ideograph_end,
 *     joiners_first, joiners_end, ideograph, join, gap): ideograph below ideograph_end, join in
 *     [joiners_first, joiners_end), else gap
 * word_runs(starts, ends, word) -> runs: [start, end) of each run of nonzero ``word`` bytes
 * span_hashes(out, points, starts, ends, base, length_mix, finals, shift)
 *     out[i] = fmix(sum(points[j] * base ** (j - starts[i]) for j in [starts[i], ends[i]))
 *                   ^ (ends[i] - starts[i]) * length_mix)
 * string_hashes(out, strings, base, length_mix, finals, shift)
 *     out[i] = span_hashes' hash of the code points of strings[i] (a list of str)
 * latin1_unit_hashes(out, text, is_word, fold, base, length_mix, finals, shift) -> units
 *     span_hashes' hash of each run of is_word[c] of a Latin-1 text, each character as
 *     fold[c] (its case-folded code point), into out; -1 for a text that is not Latin-1 or
 *     holds a character that folds to several (fold[c] == 0)
 * shingle_hashes(out, hashes, size, mix)
 * minhash(out, shingles, multipliers, increments)
 * simhash(shingles) -> int
 * char_counts(text) -> (digits, upper-case letters, letters), by str.isdigit, isupper, isalpha
 * title_case(words, min_letters) -> (words of min_letters or more, not all digits; those of
 *     them whose first character is upper case)
 * ascii_line(text, is_word, content_min, repeat_max, title_min, call_verbs, address)
 *     -> (words, eligible, titled, has_call_verb, address_hits, content, repeat_key, counts):
 *     an ASCII line's words (runs of is_word[c]), lower-cased; title_case's counts over them;
 *     whether one is in call_verbs; how many are in address, "US" (upper case) aside; the
 *     frozenset of those of content_min characters or more; for at most repeat_max words, the
 *     words joined by single spaces (else ""); and char_counts' counts of the line
 * sentence_openers(text, is_word, openers) -> (sentences, opening): an ASCII line's sentences
 *     that hold a word (cut after each of .!? that whitespace follows) and how many open with a
 *     word (a run of is_word characters) of openers, lower-cased
 * untrack_acyclic(*objects): each object (one that never changes), in order, untracked by the
 *     collector when none of its referents is tracked (so it can be in no cycle)
 * ascii_fold(text) -> an ASCII line lower-cased, each run of digits one "0", each run of other
 *     characters one space, none at the ends (the furniture memory's line key)
 * marks_as(text, marks, replacement) -> text with each character of marks as replacement, as
 *     re.sub of a class of the marks gives it (text itself when it holds none)
 * plain_characters(text, line_breaks, invisible, spaces) -> text with "\r\n" and each of
 *     line_breaks as "\n", each of invisible deleted, then each run of spaces one space
 */
#include "_buffers.h"
#include <stdint.h>
#include <string.h>

static PyObject *kinds(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out, points, table;
    unsigned long ideograph_end, joiners_first, joiners_end;
    unsigned char ideograph, join, gap;
    if (!PyArg_ParseTuple(args, "w*y*y*(kkkbbb)", &out, &points, &table, &ideograph_end,
                          &joiners_first, &joiners_end, &ideograph, &join, &gap)) {
        return NULL;
    }
    Py_ssize_t n, npoints;
    PyObject *result = NULL;
    if (!items(&out, 1, &n, "out") || !items(&points, 4, &npoints, "points")) {
        goto done;
    }
    if (npoints != n) {
        PyErr_SetString(PyExc_ValueError, "out and points differ in length");
        goto done;
    }
    const uint32_t *code = points.buf;
    const uint8_t *kind_of = table.buf;
    uint8_t *kind = out.buf, largest = 0;
    uint32_t size = (uint32_t)table.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t point = code[i];
        uint8_t k;
        if (point < size) {
            k = kind_of[point];
        } else if (point < ideograph_end) {
            k = ideograph;
        } else if (point >= joiners_first && point < joiners_end) {
            k = join;
        } else {
            k = gap;
        }
        kind[i] = k;
        largest = k > largest ? k : largest;
    }
    result = PyLong_FromLong(largest);
done:
    PyBuffer_Release(&out), PyBuffer_Release(&points), PyBuffer_Release(&table);
    return result;
}

static PyObject *word_runs(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer starts, ends, word;
    if (!PyArg_ParseTuple(args, "w*w*y*", &starts, &ends, &word)) {
        return NULL;
    }
    Py_ssize_t capacity, nends, n = word.len;
    PyObject *result = NULL;
    if (!items(&starts, sizeof(Py_ssize_t), &capacity, "starts")
        || !items(&ends, sizeof(Py_ssize_t), &nends, "ends")) {
        goto done;
    }
    if (nends != capacity || capacity < n / 2 + 1) {
        PyErr_SetString(PyExc_ValueError, "starts and ends must each hold len(word) // 2 + 1");
        goto done;
    }
    const int8_t *inside = word.buf;
    Py_ssize_t *first = starts.buf, *last = ends.buf, runs = 0;
    int open = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int here = inside[i] != 0;
        if (here && !open) {
            first[runs] = i;
        } else if (!here && open) {
            last[runs++] = i;
        }
        open = here;
    }
    if (open) {
        last[runs++] = n;
    }
    result = PyLong_FromSsize_t(runs);
done:
    PyBuffer_Release(&starts), PyBuffer_Release(&ends), PyBuffer_Release(&word);
    return result;
}

static PyObject *span_hashes(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out, points, starts, ends, finals;
    unsigned long long base, length_mix;
    int shift;
    if (!PyArg_ParseTuple(args, "w*y*y*y*KKy*i", &out, &points, &starts, &ends, &base,
                          &length_mix, &finals, &shift)) {
        return NULL;
    }
    Py_ssize_t count, npoints, nstarts, nends, nfinals;
    PyObject *result = NULL;
    if (!items(&out, 8, &count, "out") || !items(&points, 4, &npoints, "points")
        || !items(&starts, sizeof(Py_ssize_t), &nstarts, "starts")
        || !items(&ends, sizeof(Py_ssize_t), &nends, "ends")
        || !items(&finals, 8, &nfinals, "finals")) {
        goto done;
    }
    if (nstarts != count || nends != count || shift < 0 || shift > 63) {
        PyErr_SetString(PyExc_ValueError, "starts, ends and out differ in length, or the shift "
                                          "is not 0 to 63");
        goto done;
    }
    const uint32_t *code = points.buf;
    const Py_ssize_t *first = starts.buf, *last = ends.buf;
    const uint64_t *fin = finals.buf;
    uint64_t *hashes = out.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (first[i] < 0 || last[i] < first[i] || last[i] > npoints) {
            PyErr_Format(PyExc_ValueError, "span %zd [%zd, %zd) is outside the %zd points", i,
                         first[i], last[i], npoints);
            goto done;
        }
        uint64_t hash = 0, power = 1;
        for (Py_ssize_t at = first[i]; at < last[i]; at++) {
            hash += (uint64_t)code[at] * power;
            power *= base;
        }
        hashes[i] = finished(hash, last[i] - first[i], length_mix, fin, nfinals, shift);
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&out), PyBuffer_Release(&points), PyBuffer_Release(&starts);
    PyBuffer_Release(&ends), PyBuffer_Release(&finals);
    return result;
}

/* span_hashes' hash of each string of a list, read from the string itself: what span_hashes
 * gives for its code points, with no code point, start or end array to build. */
static PyObject *string_hashes(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out, finals;
    PyObject *strings;
    unsigned long long base, length_mix;
    int shift;
    if (!PyArg_ParseTuple(args, "w*O!KKy*i", &out, &PyList_Type, &strings, &base, &length_mix,
                          &finals, &shift)) {
        return NULL;
    }
    Py_ssize_t count, nfinals;
    PyObject *result = NULL;
    if (!items(&out, 8, &count, "out") || !items(&finals, 8, &nfinals, "finals")) {
        goto done;
    }
    if (count != PyList_GET_SIZE(strings) || shift < 0 || shift > 63) {
        PyErr_SetString(PyExc_ValueError, "out and strings differ in length, or the shift is "
                                          "not 0 to 63");
        goto done;
    }
    const uint64_t *fin = finals.buf;
    uint64_t *hashes = out.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *text = PyList_GET_ITEM(strings, i);
        if (!PyUnicode_Check(text)) {
            PyErr_Format(PyExc_TypeError, "strings[%zd] is not a str", i);
            goto done;
        }
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        uint64_t hash = 0, power = 1;
        for (Py_ssize_t at = 0; at < length; at++) {
            hash += (uint64_t)PyUnicode_READ(kind, data, at) * power;
            power *= base;
        }
        hashes[i] = finished(hash, length, length_mix, fin, nfinals, shift);
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&out), PyBuffer_Release(&finals);
    return result;
}

/* The unit hashes of a Latin-1 text (one byte a character: every ASCII text, most western
 * European ones) as ``span_hashes`` gives them for its case-folded code points and its runs of
 * ``is_word`` characters (its units): found and hashed in one pass over the text's bytes, with
 * no folded copy and no code point, start or end array. ``fold`` holds each byte's case-folded
 * code point, 0 where that is more than one ("\u00df" folds to "ss"): such a text, or one
 * that is not Latin-1, is left to the caller (-1). */
static PyObject *latin1_unit_hashes(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out, table, fold, finals;
    PyObject *text;
    unsigned long long base, length_mix;
    int shift;
    if (!PyArg_ParseTuple(args, "w*Uy*y*KKy*i", &out, &text, &table, &fold, &base, &length_mix,
                          &finals, &shift)) {
        return NULL;
    }
    Py_ssize_t capacity, nfinals, count = 0;
    PyObject *result = NULL;
    if (!items(&out, 8, &capacity, "out") || !items(&finals, 8, &nfinals, "finals")) {
        goto done;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (table.len != 256 || fold.len != 256 * 4 || capacity < (n + 1) / 2 || shift < 0
        || shift > 63) {
        PyErr_SetString(PyExc_ValueError, "is_word not 256 flags, fold not 256 code points, out "
                                          "holds fewer than half the characters, or the shift "
                                          "is not 0 to 63");
        goto done;
    }
    if (PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND) {
        result = PyLong_FromLong(-1);
        goto done;
    }
    const uint8_t *chars = PyUnicode_1BYTE_DATA(text);
    const int8_t *is_word = table.buf;
    const uint32_t *folded = fold.buf;
    const uint64_t *fin = finals.buf;
    uint64_t *hashes = out.buf;
    for (Py_ssize_t i = 0; i < n;) {
        if (!is_word[chars[i]]) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        uint64_t hash = 0, power = 1;
        for (; i < n && is_word[chars[i]]; i++) {
            uint32_t point = folded[chars[i]];
            if (point == 0) {
                result = PyLong_FromLong(-1);
                goto done;
            }
            hash += (uint64_t)point * power;
            power *= base;
        }
        hashes[count++] = finished(hash, i - start, length_mix, fin, nfinals, shift);
    }
    result = PyLong_FromSsize_t(count);
done:
    PyBuffer_Release(&out), PyBuffer_Release(&table), PyBuffer_Release(&fold);
    PyBuffer_Release(&finals);
    return result;
}

static PyObject *shingle_hashes(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out, hashes, mix;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "w*y*ny*", &out, &hashes, &size, &mix)) {
        return NULL;
    }
    Py_ssize_t count, n, nmix;
    PyObject *result = NULL;
    if (!items(&out, 8, &count, "out") || !items(&hashes, 8, &n, "hashes")
        || !items(&mix, 8, &nmix, "mix")) {
        goto done;
    }
    /* as the NumPy path: max(1, n - size + 1) shingles, each of min(size, n) hashes */
    Py_ssize_t width = size < n ? size : n;
    if (n == 0 || size < 1 || nmix < 1 || count != (n - size + 1 > 1 ? n - size + 1 : 1)) {
        PyErr_SetString(PyExc_ValueError, "out does not hold one hash a shingle, or there are "
                                          "no hashes, no mixers or no shingle size");
        goto done;
    }
    const uint64_t *word = hashes.buf, *mixer = mix.buf;
    uint64_t *shingle = out.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t mixed = 0;
        for (Py_ssize_t offset = 0; offset < width; offset++) {
            mixed = (mixed ^ (word[i + offset] * mixer[offset % nmix])) * mixer[0];
            mixed ^= mixed >> 29;
        }
        shingle[i] = mixed;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&out), PyBuffer_Release(&hashes), PyBuffer_Release(&mix);
    return result;
}

static PyObject *minhash(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer out, shingles, multipliers, increments;
    if (!PyArg_ParseTuple(args, "w*y*y*y*", &out, &shingles, &multipliers, &increments)) {
        return NULL;
    }
    Py_ssize_t count, n, nmul, ninc;
    PyObject *result = NULL;
    if (!items(&out, 2, &count, "out") || !items(&shingles, 8, &n, "shingles")
        || !items(&multipliers, 8, &nmul, "multipliers")
        || !items(&increments, 8, &ninc, "increments")) {
        goto done;
    }
    if (nmul != count || ninc != count || n == 0) {
        PyErr_SetString(PyExc_ValueError, "out, multipliers and increments differ in length, "
                                          "or there are no shingles");
        goto done;
    }
    const uint64_t *shingle = shingles.buf, *a = multipliers.buf, *b = increments.buf;
    uint16_t *minima = out.buf;
    /* four permutations a pass over the shingles: each minimum is a chain of comparisons, and
     * four chains run side by side where one would wait on itself */
    Py_ssize_t p = 0;
    for (; p + 4 <= count; p += 4) {
        uint64_t least[4] = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
        for (Py_ssize_t i = 0; i < n; i++) {
            for (int k = 0; k < 4; k++) {
                uint64_t hash = a[p + k] * shingle[i] + b[p + k];
                least[k] = hash < least[k] ? hash : least[k];
            }
        }
        for (int k = 0; k < 4; k++) {
            minima[p + k] = (uint16_t)(least[k] >> 32); /* bits 32-47, as astype(uint16) */
        }
    }
    for (; p < count; p++) {
        uint64_t least = UINT64_MAX;
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t hash = a[p] * shingle[i] + b[p];
            least = hash < least ? hash : least;
        }
        minima[p] = (uint16_t)(least >> 32);
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&out), PyBuffer_Release(&shingles), PyBuffer_Release(&multipliers);
    PyBuffer_Release(&increments);
    return result;
}

static PyObject *simhash(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer shingles;
    if (!PyArg_ParseTuple(args, "y*", &shingles)) {
        return NULL;
    }
    Py_ssize_t n;
    if (!items(&shingles, 8, &n, "shingles")) {
        PyBuffer_Release(&shingles);
        return NULL;
    }
    const uint64_t *hash = shingles.buf;
    Py_ssize_t ones[64];
    for (int bit = 0; bit < 64; bit++) { /* bit by bit: the inner loop vectorizes */
        Py_ssize_t count = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            count += (Py_ssize_t)((hash[i] >> bit) & 1);
        }
        ones[bit] = count;
    }
    uint64_t bits = 0;
    for (int bit = 0; bit < 64; bit++) {
        bits |= (uint64_t)(2 * ones[bit] > n) << bit; /* the majority of the shingles */
    }
    PyBuffer_Release(&shingles);
    return PyLong_FromUnsignedLongLong(bits);
}

/* A line's character counts and title-casing: per character the same tests as ``str.isdigit``,
 * ``isalpha`` and ``isupper`` make on one character (CPython's own ``Py_UNICODE_IS*``), without
 * a Python object a character or a word. Those tests are calls into the Unicode database, so a
 * Latin-1 text (most lines) reads their answers from a table of its 256 characters instead. */
enum { DIGIT = 1, ALPHA = 2, UPPER = 4 };

static uint8_t char_class(Py_UCS4 c) {
    return (uint8_t)((Py_UNICODE_ISDIGIT(c) ? DIGIT : 0) | (Py_UNICODE_ISALPHA(c) ? ALPHA : 0)
                     | (Py_UNICODE_ISUPPER(c) ? UPPER : 0));
}

static uint8_t latin1_classes[256]; /* filled when the module loads */

/* ``char_counts``' counts of a str, as a (digits, upper-case letters, letters) tuple. */
static PyObject *counted(PyObject *text) {
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), digits = 0, upper = 0, letters = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t class = kind == PyUnicode_1BYTE_KIND ? latin1_classes[((const Py_UCS1 *)data)[i]]
                                                     : char_class(PyUnicode_READ(kind, data, i));
        digits += (class & DIGIT) != 0;
        if (class & ALPHA) {
            letters++;
            upper += (class & UPPER) != 0;
        }
    }
    return Py_BuildValue("(nnn)", digits, upper, letters);
}

static PyObject *char_counts(PyObject *module, PyObject *text) {
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "char_counts: text is not a str");
        return NULL;
    }
    return counted(text);
}

static int all_digits(PyObject *word) {
    int kind = PyUnicode_KIND(word);
    const void *data = PyUnicode_DATA(word);
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!Py_UNICODE_ISDIGIT(PyUnicode_READ(kind, data, i))) {
            return 0;
        }
    }
    return n > 0;
}

static PyObject *title_case(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *words;
    Py_ssize_t min_letters;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &words, &min_letters)) {
        return NULL;
    }
    Py_ssize_t eligible = 0, titled = 0;
    for (Py_ssize_t w = 0; w < PyList_GET_SIZE(words); w++) {
        PyObject *word = PyList_GET_ITEM(words, w);
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "words: not a list of str");
            return NULL;
        }
        Py_ssize_t length = PyUnicode_GET_LENGTH(word);
        if (length >= min_letters && length > 0 && !all_digits(word)) {
            eligible++;
            titled += Py_UNICODE_ISUPPER(PyUnicode_READ_CHAR(word, 0)) != 0;
        }
    }
    return Py_BuildValue("(nn)", eligible, titled);
}

/* The ASCII words of a frozenset of str (the others can never equal an ASCII line's word),
 * grouped by length, to look a word up by its bytes: ``ascii_line`` keeps the last set it was
 * given (by identity: a frozenset never changes) instead of making each word a str to ask the
 * set. */
#define LONGEST_LISTED 64

typedef struct {
    PyObject *set;                           /* held, so its address is not reused */
    char *text;                              /* the words, one after another */
    Py_ssize_t *offsets;                     /* of each word in text, the words by length */
    Py_ssize_t first[LONGEST_LISTED + 2];    /* the words of length k: first[k] .. first[k+1] */
} WordList;

static WordList call_verb_list, address_list, opener_list;

static int list_words(WordList *list, PyObject *set) {
    if (list->set == set) {
        return 1;
    }
    Py_ssize_t size = PySet_GET_SIZE(set), total = 0, count = 0;
    Py_ssize_t *offsets = PyMem_Malloc(sizeof(Py_ssize_t) * ((size_t)size + 1));
    Py_ssize_t *lengths = PyMem_Malloc(sizeof(Py_ssize_t) * ((size_t)size + 1));
    PyObject **items = PyMem_Malloc(sizeof(PyObject *) * ((size_t)size + 1));
    PyObject *iterator = PyObject_GetIter(set), *item;
    char *text = NULL;
    if (offsets == NULL || lengths == NULL || items == NULL || iterator == NULL) {
        goto failed;
    }
    while (count < size && (item = PyIter_Next(iterator)) != NULL) {
        Py_DECREF(item); /* the set holds it */
        if (PyUnicode_Check(item) && PyUnicode_IS_ASCII(item)
            && PyUnicode_GET_LENGTH(item) <= LONGEST_LISTED) {
            items[count] = item, lengths[count++] = PyUnicode_GET_LENGTH(item);
            total += PyUnicode_GET_LENGTH(item);
        }
    }
    Py_CLEAR(iterator);
    text = PyErr_Occurred() ? NULL : PyMem_Malloc((size_t)total + 1);
    if (text == NULL) {
        goto failed;
    }
    Py_ssize_t at = 0, placed = 0;
    for (Py_ssize_t length = 0; length <= LONGEST_LISTED; length++) {
        list->first[length] = placed;
        for (Py_ssize_t i = 0; i < count; i++) {
            if (lengths[i] == length) {
                memcpy(text + at, PyUnicode_1BYTE_DATA(items[i]), (size_t)length);
                offsets[placed++] = at;
                at += length;
            }
        }
    }
    list->first[LONGEST_LISTED + 1] = placed;
    PyMem_Free(lengths), PyMem_Free(items);
    PyMem_Free(list->text), PyMem_Free(list->offsets);
    Py_XSETREF(list->set, Py_NewRef(set));
    list->text = text, list->offsets = offsets;
    return 1;
failed:
    Py_XDECREF(iterator);
    PyMem_Free(offsets), PyMem_Free(lengths), PyMem_Free(items), PyMem_Free(text);
    if (!PyErr_Occurred()) {
        PyErr_NoMemory();
    }
    return 0;
}

static int listed(const WordList *list, const char *word, Py_ssize_t length) {
    if (length < 1 || length > LONGEST_LISTED) { /* a line's words have a character at least */
        return 0;
    }
    for (Py_ssize_t i = list->first[length]; i < list->first[length + 1]; i++) {
        const char *listed_word = list->text + list->offsets[i];
        /* the first letters told apart inline: most words differ there, and memcmp is a call */
        if (listed_word[0] == word[0] && memcmp(listed_word, word, (size_t)length) == 0) {
            return 1;
        }
    }
    return 0;
}

/* An ASCII line's word signals in one pass over its characters: the words (runs of
 * ``is_word`` characters, as ``str.split`` gives them once the others are spaces), lower-cased
 * into one buffer that is also the repeat key, each looked up in the call verbs and the
 * address words by its bytes, and a content word made a str once for the content set. */
static PyObject *ascii_line(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *text, *call_verbs, *address;
    Py_buffer table;
    Py_ssize_t content_min, repeat_max, title_min;
    if (!PyArg_ParseTuple(args, "Uy*nnnO!O!", &text, &table, &content_min, &repeat_max,
                          &title_min, &PyFrozenSet_Type, &call_verbs, &PyFrozenSet_Type,
                          &address)) {
        return NULL;
    }
    PyObject *result = NULL, *content = NULL;
    char *lowered = NULL;
    if (table.len != 128 || !PyUnicode_IS_ASCII(text)) {
        PyErr_SetString(PyExc_ValueError, table.len != 128 ? "is_word: not 128 flags"
                                                           : "text is not ASCII");
        goto done;
    }
    if (!list_words(&call_verb_list, call_verbs) || !list_words(&address_list, address)) {
        goto done;
    }
    const char *chars = (const char *)PyUnicode_1BYTE_DATA(text);
    const int8_t *is_word = table.buf;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_ssize_t words = 0, eligible = 0, titled = 0, hits = 0, used = 0;
    int call_verb = 0;
    lowered = PyMem_Malloc((size_t)n + 1);
    content = PyFrozenSet_New(NULL);
    if (lowered == NULL || content == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n;) {
        if (!is_word[(uint8_t)chars[i]]) {
            i++;
            continue;
        }
        if (words++ > 0) {
            lowered[used++] = ' ';  /* the words joined by single spaces: the repeat key */
        }
        Py_ssize_t start = i, digits = 0;
        char *word = lowered + used;
        for (; i < n && is_word[(uint8_t)chars[i]]; i++) {
            char c = chars[i];
            digits += c >= '0' && c <= '9';
            word[i - start] = (char)ascii_lower((uint8_t)c);
        }
        Py_ssize_t length = i - start;
        used += length;
        if (length >= title_min && digits < length) {
            eligible++;
            titled += is_ascii_upper((uint8_t)chars[start]);
        }
        call_verb |= !call_verb && listed(&call_verb_list, word, length);
        hits += listed(&address_list, word, length)
                && !(length == 2 && chars[start] == 'U' && chars[start + 1] == 'S');
        if (length >= content_min) { /* only a content word is made a str */
            PyObject *folded = PyUnicode_New(length, 127);
            if (folded == NULL) {
                goto done;
            }
            memcpy(PyUnicode_1BYTE_DATA(folded), word, (size_t)length);
            int added = PySet_Add(content, folded);
            Py_DECREF(folded);
            if (added < 0) {
                goto done;
            }
        }
    }
    PyObject *key = PyUnicode_FromStringAndSize(lowered, words <= repeat_max ? used : 0);
    PyObject *counts = key != NULL ? counted(text) : NULL;
    if (counts != NULL) {
        result = Py_BuildValue("(nnnOnONN)", words, eligible, titled,
                               call_verb ? Py_True : Py_False, hits, content, key, counts);
    } else {
        Py_XDECREF(key);
    }
done:
    PyMem_Free(lowered);
    Py_XDECREF(content);
    PyBuffer_Release(&table);
    return result;
}

/* An ASCII line's sentences that hold a word, cut as ``lines._sentence_spans`` cuts them (after
 * each full stop, question or exclamation mark that whitespace follows, ``Py_UNICODE_ISSPACE``
 * as the regex's ``\s``, the whitespace left out), and how many open with a word (a run of
 * ``is_word`` characters, the regex's ``\w``) of ``openers`` once lower-cased: the counts that
 * decide ``is_call_to_action`` for most lines, without a regex search or a str a sentence. */
static PyObject *sentence_openers(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *text, *openers, *result = NULL;
    Py_buffer table;
    if (!PyArg_ParseTuple(args, "Uy*O!", &text, &table, &PyFrozenSet_Type, &openers)) {
        return NULL;
    }
    if (table.len != 128 || !PyUnicode_IS_ASCII(text)) {
        PyErr_SetString(PyExc_ValueError, table.len != 128 ? "is_word: not 128 flags"
                                                           : "text is not ASCII");
        goto done;
    }
    if (!list_words(&opener_list, openers)) {
        goto done;
    }
    const int8_t *is_word = table.buf;
    const uint8_t *chars = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), sentences = 0, opening = 0;
    char word[LONGEST_LISTED];
    for (Py_ssize_t start = 0; start <= n;) {
        Py_ssize_t end = n, next = n + 1;  /* this sentence [start, end); the next from next */
        for (Py_ssize_t i = start; i + 1 < n; i++) {
            if ((chars[i] == '.' || chars[i] == '!' || chars[i] == '?')
                && Py_UNICODE_ISSPACE(chars[i + 1])) {
                for (end = i + 1, next = i + 2; next < n && Py_UNICODE_ISSPACE(chars[next]);
                     next++) {
                }
                break;
            }
        }
        Py_ssize_t first = start;
        while (first < end && !is_word[chars[first]]) {
            first++;
        }
        if (first < end) {
            Py_ssize_t length = 0;
            sentences++;
            while (first + length < end && is_word[chars[first + length]]) {
                if (length < LONGEST_LISTED) { /* a longer word is none of the list's */
                    word[length] = (char)ascii_lower(chars[first + length]);
                }
                length++;
            }
            opening += listed(&opener_list, word, length);
        }
        start = next;
    }
    result = Py_BuildValue("(nn)", sentences, opening);
done:
    PyBuffer_Release(&table);
    return result;
}

/* Whether a referent is an object the collector tracks (tp_traverse's visit: nonzero stops). */
static int visit_tracked(PyObject *referent, void *unused) {
    (void)unused;
    return PyObject_IS_GC(referent) && PyObject_GC_IsTracked(referent);
}

/* Each object untracked by the collector, in order, when none of its referents is tracked (so
 * it can be in no reference cycle): the rule CPython applies to a tuple of atoms, for objects
 * that never change (a frozenset, an instance of a class of Final attributes) that a cache
 * keeps. The line cache's lines outlive the young generation's collections, and each
 * collection walked every line and its set of words again. A list, dict or set could come to
 * hold a cycle: refused. */
static PyObject *untrack_acyclic(PyObject *module, PyObject *const *objects,
                                 Py_ssize_t count) {
    (void)module;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *object = objects[i];
        if (PyList_Check(object) || PyDict_Check(object) || PySet_Check(object)
            || PyByteArray_Check(object)) {
            PyErr_Format(PyExc_TypeError, "untrack_acyclic: a %s can change",
                         Py_TYPE(object)->tp_name);
            return NULL;
        }
        traverseproc traverse = Py_TYPE(object)->tp_traverse;
        if (PyObject_IS_GC(object) && PyObject_GC_IsTracked(object) && traverse != NULL
            && traverse(object, visit_tracked, NULL) == 0) {
            PyObject_GC_UnTrack(object);
        }
    }
    Py_RETURN_NONE;
}

/* An ASCII line folded as the furniture memory keys it, in one pass: letters lower-cased, each
 * run of digits one "0", each run of other characters one space, none at the ends. */
static PyObject *ascii_fold(PyObject *module, PyObject *text) {
    (void)module;
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text)) {
        PyErr_SetString(PyExc_ValueError, "ascii_fold: text is not an ASCII str");
        return NULL;
    }
    const char *chars = (const char *)PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), used = 0;
    char *folded = PyMem_Malloc((size_t)n + 1);
    if (folded == NULL) {
        return PyErr_NoMemory();
    }
    char last = ' ';  /* as if a space came first: none opens the result */
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = (char)ascii_lower((uint8_t)chars[i]);
        if (c >= '0' && c <= '9') {
            c = '0';
        } else if (!(c >= 'a' && c <= 'z')) {
            c = ' ';
        }
        if (c != last || (c != ' ' && c != '0')) {
            folded[used++] = last = c;
        }
    }
    used -= used > 0 && last == ' ';  /* none closes it either */
    PyObject *result = PyUnicode_FromStringAndSize(folded, used);
    PyMem_Free(folded);
    return result;
}

/* Membership in a set of characters (a str), read from a bitmap of them as far as the largest:
 * a text may hold thousands of characters, the sets are tens, and a bitmap is built in less
 * time than a search of the set for a few characters takes. */
typedef struct {
    uint8_t *bits;
    Py_UCS4 top;
} CharSet;

static int char_set(PyObject *chars, CharSet *set) {
    Py_ssize_t count = PyUnicode_GET_LENGTH(chars);
    set->top = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(chars, i);
        set->top = c > set->top ? c : set->top;
    }
    set->bits = PyMem_Calloc((size_t)set->top / 8 + 1, 1);
    if (set->bits == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(chars, i);
        set->bits[c / 8] |= (uint8_t)(1u << (c % 8));
    }
    return 1;
}

static inline int in_set(const CharSet *set, Py_UCS4 c) {
    return c <= set->top && (set->bits[c / 8] >> (c % 8) & 1);
}

/* ``text`` with each of ``marks`` as ``replacement``: what a regex class of the marks would
 * substitute, in one pass. */
static PyObject *marks_as(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *text, *marks;
    int replacement;
    if (!PyArg_ParseTuple(args, "UUC", &text, &marks, &replacement)) {
        return NULL;
    }
    if (PyUnicode_IS_ASCII(text)) {
        return Py_NewRef(text);
    }
    CharSet is_mark;
    if (!char_set(marks, &is_mark)) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), found = 0;
    Py_UCS4 widest = (Py_UCS4)replacement;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (in_set(&is_mark, c)) {
            found++;
        } else {
            widest = c > widest ? c : widest;
        }
    }
    PyObject *result = found ? PyUnicode_New(n, widest) : Py_NewRef(text);
    if (found && result != NULL) {
        int out_kind = PyUnicode_KIND(result);
        void *out = PyUnicode_DATA(result);
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            PyUnicode_WRITE(out_kind, out, i, in_set(&is_mark, c) ? (Py_UCS4)replacement : c);
        }
    }
    PyMem_Free(is_mark.bits);
    return result;
}

/* One pass of ``plain_characters`` over ``text``: the length and widest character of the
 * result, and when ``out`` is given, the result written into it. */
static Py_ssize_t plain_pass(PyObject *text, const CharSet sets[3], int out_kind, void *out,
                             Py_UCS4 *widest) {
    const CharSet *line_breaks = &sets[0], *invisible = &sets[1], *spaces = &sets[2];
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), used = 0;
    int in_spaces = 0;  /* an invisible character between spaces leaves one run */
    *widest = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '\r' && i + 1 < n && PyUnicode_READ(kind, data, i + 1) == '\n') {
            continue;  /* "\r\n" is one line break */
        }
        int space = 0;
        if (in_set(line_breaks, c)) {
            c = '\n';
        } else if (in_set(invisible, c)) {
            continue;
        } else if (in_set(spaces, c)) {
            if (in_spaces) {
                continue;
            }
            c = ' ';
            space = 1;
        }
        in_spaces = space;
        if (out != NULL) {
            PyUnicode_WRITE(out_kind, out, used, c);
        }
        used++;
        *widest = c > *widest ? c : *widest;
    }
    return used;
}

/* ``text`` with "\r\n" and each of ``line_breaks`` as "\n", each of ``invisible`` deleted, then
 * each run of ``spaces`` one space: repair's three substitutions, in two passes (one to size
 * the result, one to write it) for their three. */
static PyObject *plain_characters(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *text, *chars[3];
    if (!PyArg_ParseTuple(args, "UUUU", &text, &chars[0], &chars[1], &chars[2])) {
        return NULL;
    }
    CharSet sets[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
    PyObject *result = NULL;
    for (int k = 0; k < 3; k++) {
        if (!char_set(chars[k], &sets[k])) {
            goto done;
        }
    }
    Py_UCS4 widest;
    Py_ssize_t length = plain_pass(text, sets, 0, NULL, &widest);
    result = PyUnicode_New(length, widest);
    if (result != NULL) {
        plain_pass(text, sets, PyUnicode_KIND(result), PyUnicode_DATA(result), &widest);
    }
done:
    for (int k = 0; k < 3; k++) {
        PyMem_Free(sets[k].bits);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"kinds", kinds, METH_VARARGS,
     "kinds(out, points, table, astral) -> the largest kind: the kind of each code point, into "
     "out (uint8)."},
    {"word_runs", word_runs, METH_VARARGS,
     "word_runs(starts, ends, word) -> runs: [start, end) of each run of nonzero word bytes."},
    {"span_hashes", span_hashes, METH_VARARGS,
     "span_hashes(out, points, starts, ends, base, length_mix, finals, shift): the hash of each "
     "code point span, into out (uint64)."},
    {"string_hashes", string_hashes, METH_VARARGS,
     "string_hashes(out, strings, base, length_mix, finals, shift): the span hash of each "
     "string's code points, into out (uint64)."},
    {"latin1_unit_hashes", latin1_unit_hashes, METH_VARARGS,
     "latin1_unit_hashes(out, text, is_word, fold, base, length_mix, finals, shift) -> units: "
     "the span hash of each case-folded run of is_word characters of a Latin-1 text, into out; "
     "-1 when the text is not Latin-1 or holds a character that folds to several."},
    {"shingle_hashes", shingle_hashes, METH_VARARGS,
     "shingle_hashes(out, hashes, size, mix): the hash of each run of size hashes, into out."},
    {"minhash", minhash, METH_VARARGS,
     "minhash(out, shingles, multipliers, increments): bits 32-47 of each permutation's least "
     "hash, into out (uint16)."},
    {"simhash", simhash, METH_VARARGS,
     "simhash(shingles) -> int: each bit the majority vote of that bit over the shingles."},
    {"char_counts", char_counts, METH_O,
     "char_counts(text) -> (digits, upper-case letters, letters)."},
    {"title_case", title_case, METH_VARARGS,
     "title_case(words, min_letters) -> (words of min_letters or more that are not all digits, "
     "those of them opening with an upper-case character)."},
    {"ascii_line", ascii_line, METH_VARARGS,
     "ascii_line(text, is_word, content_min, repeat_max, title_min, call_verbs, address) -> "
     "(words, title-case eligible, titled, has a call verb, reader address hits, content words, "
     "repeat key, (digits, upper-case letters, letters)) of an ASCII line."},
    {"ascii_fold", ascii_fold, METH_O,
     "ascii_fold(text) -> text lower-cased, digit runs as one 0, other runs as one space, "
     "stripped."},
    {"sentence_openers", sentence_openers, METH_VARARGS,
     "sentence_openers(text, is_word, openers) -> (sentences holding a word, those opening with "
     "a word of openers, lower-cased) of an ASCII line."},
    {"untrack_acyclic", (PyCFunction)(void (*)(void))untrack_acyclic, METH_FASTCALL,
     "untrack_acyclic(*objects): each object (one that never changes), in order, untracked by "
     "the garbage collector when none of its referents is tracked."},
    {"marks_as", marks_as, METH_VARARGS,
     "marks_as(text, marks, replacement) -> text with each character of marks as replacement "
     "(text itself when it holds none)."},
    {"plain_characters", plain_characters, METH_VARARGS,
     "plain_characters(text, line_breaks, invisible, spaces) -> text with \\r\\n and line breaks "
     "as \\n, invisible characters deleted, then each run of spaces one space."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_units",
    "The loops over a text's units: kinds, runs, hashes, shingles, MinHash, SimHash; a line's "
    "character counts, title-casing, word signals and furniture key; character sets made plain "
    "(_units.c).",
    -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__units(void) {
    for (Py_UCS4 c = 0; c < 256; c++) {
        latin1_classes[c] = char_class(c);
    }
    return PyModule_Create(&definition);
}

/* The compiled form of the steps of corral.server.http.headscan, and of the
 * request cycle's framing decision (corral.server.http.cycle).
 *
 * Optional: when this file cannot be built (no compiler where corral is
 * installed) or CORRAL_PURE_PYTHON is set, headscan.py runs its own Python
 * definitions of the same functions, which are the reference (the tests run
 * the request-head tests on both and compare them on random and hostile input).
 *
 *   scan_head(data, start, end) -> (method, target, minor, fields, stop) | None
 *       The whole-head form of the request-head grammar (RFC 9112) over the
 *       head that begins at data[start], up to its blank line, which must lie
 *       within data[start:end]; stop: where the head ends (after the blank line):
 *
 *           method SP target SP "HTTP/1." ("0" / "1") CRLF
 *           *( field-name ":" field-value CRLF ) CRLF
 *
 *       method: 1 to 64 token characters, not "PRI"; target: one or more
 *       visible ASCII characters; field-name: a token; field-value: HTAB, SP,
 *       visible ASCII and bytes 0x80-0xFF (obs-text).  Returns the method and
 *       target (str), the minor version (int) and the fields as a list of
 *       (name, value) str pairs, the value decoded as Latin-1 without the
 *       spaces and tabs around it; None for any head not of this form, and for
 *       one whose blank line is not within data[start:end].
 *
 *   sort_fields(fields, names, name_of) -> (by_key, notable, underscored)
 *       Each (name, value) pair looked up in the dict ``names`` (name -> (kind,
 *       key)), or given to ``name_of(name)`` when not there.  by_key: values by
 *       key, repeated keys' values joined with ","; notable: (kind, name, value)
 *       for every pair whose kind is not 0, in order; underscored: whether any
 *       key was None (those pairs are left out of by_key).
 *
 *   field_lines(first, code, headers, table, check)
 *           -> (lines, content_length, own, close, dropped)
 *       A response's header items, each looked up in the dict ``table`` (exact
 *       tuples only) or given to ``check(item)``: (kind, line, length) entries.
 *       lines: ``first`` and the lines that go out, joined; content_length:
 *       the last length's, None without one (a length is not sent with status
 *       204 or 304); own: 1 for a Date, 2 for a Server field (or-ed); close:
 *       a Connection: close was there; dropped: the names of the fields
 *       dropped, a tuple.
 *
 *   start_response(response, status, headers, again) -> write
 *       What the application gives start_response, checked (by the tables of
 *       what was checked before, or the functions bind_response() gave) and
 *       kept in the response's slots; defined in Python in
 *       corral.server.http.response (python_start_response).
 *
 *   build_environ(builder, head, body, conn) -> environ
 *       One request's WSGI environ, as the Python definition
 *       (corral.server.http.environ.python_build_environ) makes it, calling
 *       the builder's methods for the rarer steps.
 *
 *   new_exchange(cycle, head, body, conn) -> exchange
 *       One request's exchange, its slots filled as Exchange.__init__ (the
 *       Python definition, corral.server.http.cycle) fills them.
 *
 *   frame_head(exchange, total) -> (mode, head)
 *   frame_whole(exchange, body) -> head + body
 *       The framing decision and the response head of a request cycle's
 *       exchange (corral.server.http.cycle), read from and written to its
 *       slots; defined in Python there (python_frame_head, python_frame_whole),
 *       after bind_exchange() has told this module the types.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>
#include <time.h>

#define MAX_METHOD 64

static unsigned char TCHAR[256];  /* token characters (RFC 9110 section 5.6.2) */
/* field-value characters, with SP and HTAB: 1 for ASCII ones, 2 for obs-text
 * (0x80-0xFF), so the scan of a value also tells whether it is all ASCII */
static unsigned char VALUE[256];

static void
init_tables(void)
{
    const char *extra = "!#$%&'*+-.^_`|~";
    int c;
    for (c = '0'; c <= '9'; c++) TCHAR[c] = 1;
    for (c = 'A'; c <= 'Z'; c++) TCHAR[c] = 1;
    for (c = 'a'; c <= 'z'; c++) TCHAR[c] = 1;
    for (; *extra; extra++) TCHAR[(unsigned char)*extra] = 1;
    VALUE['\t'] = 1;
    for (c = 0x20; c <= 0x7e; c++) VALUE[c] = 1;
    for (c = 0x80; c <= 0xff; c++) VALUE[c] = 2;
}

/* Runs of ordinary bytes are stepped over eight at a time: a word of eight
 * bytes, all within [lo, 0x7e], is told by two carry tricks (exact for
 * lo <= 0x80).  The byte loops after them judge whatever a word did not. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static Py_ssize_t
skip_words(const unsigned char *p, Py_ssize_t i, Py_ssize_t n, uint64_t lo)
{
    while (i + 8 <= n) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        /* a byte below lo, or a byte above 0x7e */
        if ((((x - ONES * lo) & ~x) | ((x + ONES) | x)) & HIGHS) break;
        i += 8;
    }
    return i;
}

/* A str of n ASCII bytes. */
static PyObject *
ascii_str(const unsigned char *p, Py_ssize_t n)
{
    PyObject *s = PyUnicode_New(n, 127);
    if (s != NULL && n > 0) {
        memcpy(PyUnicode_DATA(s), p, (size_t)n);
    }
    return s;
}

/* Field names (and methods) repeat from one request to the next: the str made
 * for one is kept in a small table, keyed by its bytes, with its hash computed,
 * so the same name costs neither a new str nor hashing it again when it is
 * looked up.  A slot holds the last name that fell in it. */
#define NAME_SLOTS 512
#define NAME_MAX_LEN 64
static PyObject *names[NAME_SLOTS];

static PyObject *
token_str(const unsigned char *p, Py_ssize_t n)
{
    if (n > NAME_MAX_LEN) return ascii_str(p, n);
    uint32_t h = 2166136261u;  /* FNV-1a */
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    PyObject **slot = &names[h % NAME_SLOTS];
    PyObject *kept = *slot;
    if (kept != NULL && PyUnicode_GET_LENGTH(kept) == n
            && memcmp(PyUnicode_DATA(kept), p, (size_t)n) == 0) {
        return Py_NewRef(kept);
    }
    PyObject *s = ascii_str(p, n);
    if (s == NULL) return NULL;
    if (PyObject_Hash(s) == -1) {
        Py_DECREF(s);
        return NULL;
    }
    Py_XSETREF(*slot, Py_NewRef(s));
    return s;
}


/* Where the field lines start (after the request line's CRLF), or -1 when the
 * request line is not of the whole-head form.  Sets the method, target and
 * minor version spans. */
static Py_ssize_t
request_line(const unsigned char *p, Py_ssize_t n, Py_ssize_t *method_end,
             Py_ssize_t *target_end, int *minor)
{
    Py_ssize_t i = 0;
    while (i < n && i <= MAX_METHOD && TCHAR[p[i]]) i++;
    if (i == 0 || i > MAX_METHOD || i >= n || p[i] != ' ') return -1;
    if (i == 3 && memcmp(p, "PRI", 3) == 0) return -1;
    *method_end = i;
    Py_ssize_t t = ++i;
    i = skip_words(p, i, n, 0x21);
    while (i < n && p[i] >= 0x21 && p[i] <= 0x7e) i++;
    if (i == t || i >= n || p[i] != ' ') return -1;
    *target_end = i;
    i++;
    if (n - i < 10 || memcmp(p + i, "HTTP/1.", 7) != 0) return -1;
    if (p[i + 7] != '0' && p[i + 7] != '1') return -1;
    if (p[i + 8] != '\r' || p[i + 9] != '\n') return -1;
    *minor = p[i + 7] - '0';
    return i + 10;
}

/* The whole-head form over p[0:n]: 1 with *method, *target and *fields set
 * (new references), *minor and *stop (where the head ends, from p); 0 for a
 * head not of the form or not whole in p[0:n]; -1 with an exception set.
 * *fields: a list of (name, value) pairs, or with flat set a list of names
 * and values in turn (name, value, name, value...). */
static int
scan(const unsigned char *p, Py_ssize_t n, PyObject **method, PyObject **target,
     int *minor, PyObject **fields, Py_ssize_t *stop, int flat)
{
    Py_ssize_t method_end = 0, target_end = 0;
    Py_ssize_t i = request_line(p, n, &method_end, &target_end, minor);
    if (i < 0) return 0;
    PyObject *list = PyList_New(0);
    if (list == NULL) return -1;
    for (;;) {
        if (i < n && p[i] == '\r') {  /* the blank line: where the head ends */
            if (i + 1 < n && p[i + 1] == '\n') {
                i += 2;
                break;
            }
            goto none;
        }
        Py_ssize_t name_at = i;
        while (i < n && TCHAR[p[i]]) i++;
        if (i == name_at || i >= n || p[i] != ':') goto none;
        Py_ssize_t name_end = i++;
        Py_ssize_t v0 = i;
        unsigned char kinds = 0;  /* 2 set when the value holds obs-text */
        unsigned char k;
        for (;;) {  /* words of plain ASCII, then bytes up to eight at a time */
            i = skip_words(p, i, n, 0x20);
            Py_ssize_t until = i + 8 < n ? i + 8 : n;
            while (i < until && (k = VALUE[p[i]]) != 0) {
                kinds |= k;
                i++;
            }
            if (i < until || i >= n) break;
        }
        if (i + 1 >= n || p[i] != '\r' || p[i + 1] != '\n') goto none;
        Py_ssize_t v1 = i;
        i += 2;
        while (v0 < v1 && (p[v0] == ' ' || p[v0] == '\t')) v0++;
        while (v1 > v0 && (p[v1 - 1] == ' ' || p[v1 - 1] == '\t')) v1--;
        PyObject *name = token_str(p + name_at, name_end - name_at);
        if (name == NULL) goto fail;
        PyObject *value = (kinds & 2)
            ? PyUnicode_DecodeLatin1((const char *)p + v0, v1 - v0, NULL)
            : ascii_str(p + v0, v1 - v0);
        if (value == NULL) {
            Py_DECREF(name);
            goto fail;
        }
        if (flat) {
            int failed = PyList_Append(list, name) < 0 || PyList_Append(list, value) < 0;
            Py_DECREF(name);
            Py_DECREF(value);
            if (failed) goto fail;
            continue;
        }
        PyObject *pair = PyTuple_New(2);
        if (pair == NULL) {
            Py_DECREF(name);
            Py_DECREF(value);
            goto fail;
        }
        PyTuple_SET_ITEM(pair, 0, name);
        PyTuple_SET_ITEM(pair, 1, value);
        int failed = PyList_Append(list, pair);
        Py_DECREF(pair);
        if (failed) goto fail;
    }
    *method = token_str(p, method_end);
    *target = ascii_str(p + method_end + 1, target_end - method_end - 1);
    if (*method == NULL || *target == NULL) {
        Py_CLEAR(*method);
        Py_CLEAR(*target);
        goto fail;
    }
    *fields = list;
    *stop = i;
    return 1;
none:
    Py_DECREF(list);
    return 0;
fail:
    Py_DECREF(list);
    return -1;
}

/* The bytes of data[start:end] (a buffer the caller releases), or NULL with an
 * exception set. */
static const unsigned char *
span(PyObject *data, PyObject *start_obj, PyObject *end_obj, Py_buffer *view,
     Py_ssize_t *start, Py_ssize_t *n)
{
    *start = PyLong_AsSsize_t(start_obj);
    if (*start == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t end = PyLong_AsSsize_t(end_obj);
    if (end == -1 && PyErr_Occurred()) return NULL;
    if (PyObject_GetBuffer(data, view, PyBUF_SIMPLE) < 0) return NULL;
    if (*start < 0 || end > view->len || *start > end) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "start and end must lie within data");
        return NULL;
    }
    *n = end - *start;
    return (const unsigned char *)view->buf + *start;
}

static PyObject *
scan_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "scan_head(data, start, end)");
        return NULL;
    }
    Py_buffer view;
    Py_ssize_t start, n, stop = 0;
    const unsigned char *p = span(args[0], args[1], args[2], &view, &start, &n);
    if (p == NULL) return NULL;
    PyObject *method = NULL, *target = NULL, *fields = NULL, *result = NULL;
    int minor = 0;
    int found = scan(p, n, &method, &target, &minor, &fields, &stop, 0);
    PyBuffer_Release(&view);
    if (found <= 0) return found == 0 ? Py_NewRef(Py_None) : NULL;
    PyObject *version = PyLong_FromLong(minor);
    PyObject *end = PyLong_FromSsize_t(start + stop);
    if (version != NULL && end != NULL && (result = PyTuple_New(5)) != NULL) {
        PyTuple_SET_ITEM(result, 0, method);
        PyTuple_SET_ITEM(result, 1, target);
        PyTuple_SET_ITEM(result, 2, version);
        PyTuple_SET_ITEM(result, 3, fields);
        PyTuple_SET_ITEM(result, 4, end);
        return result;
    }
    Py_DECREF(method);
    Py_DECREF(target);
    Py_DECREF(fields);
    Py_XDECREF(version);
    Py_XDECREF(end);
    return NULL;
}

/* by_key[key] = value, or "old,value" when the key is there already. */
static int
add_value(PyObject *by_key, PyObject *key, PyObject *value)
{
    Py_ssize_t size = PyDict_GET_SIZE(by_key);
    PyObject *old = PyDict_SetDefault(by_key, key, value);  /* one lookup */
    if (old == NULL) return -1;
    /* not there before: value is in now (told by the size, not by identity:
     * two equal values may be one object, such as the empty str) */
    if (PyDict_GET_SIZE(by_key) != size) return 0;
    PyObject *parts = PyTuple_Pack(2, old, value);
    if (parts == NULL) return -1;
    PyObject *comma = PyUnicode_FromStringAndSize(",", 1);
    PyObject *joined = comma != NULL ? PyUnicode_Join(comma, parts) : NULL;
    Py_XDECREF(comma);
    Py_DECREF(parts);
    if (joined == NULL) return -1;
    int failed = PyDict_SetItem(by_key, key, joined);
    Py_DECREF(joined);
    return failed;
}

static PyObject *
sort_fields(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyList_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "sort_fields(fields: list, names: dict, name_of)");
        return NULL;
    }
    PyObject *pairs = args[0], *names = args[1], *name_of = args[2];
    PyObject *by_key = PyDict_New();
    PyObject *notable = PyList_New(0);
    int underscored = 0;
    if (by_key == NULL || notable == NULL) goto fail;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(pairs); k++) {
        PyObject *pair = PyList_GET_ITEM(pairs, k);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "fields must be (name, value) tuples");
            goto fail;
        }
        PyObject *name = PyTuple_GET_ITEM(pair, 0);
        PyObject *value = PyTuple_GET_ITEM(pair, 1);
        PyObject *entry = PyDict_GetItemWithError(names, name);
        if (entry != NULL) {
            Py_INCREF(entry);
        } else {
            if (PyErr_Occurred()) goto fail;
            entry = PyObject_CallOneArg(name_of, name);
            if (entry == NULL) goto fail;
        }
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2) {
            Py_DECREF(entry);
            PyErr_SetString(PyExc_TypeError, "a name's entry must be a (kind, key) tuple");
            goto fail;
        }
        PyObject *kind = PyTuple_GET_ITEM(entry, 0);
        PyObject *key = PyTuple_GET_ITEM(entry, 1);
        int failed = 0;
        if (key == Py_None) {
            underscored = 1;
        } else {
            failed = add_value(by_key, key, value);
        }
        if (!failed) {
            int plain = PyObject_Not(kind);
            if (plain < 0) {
                failed = 1;
            } else if (!plain) {
                PyObject *item = PyTuple_Pack(3, kind, name, value);
                failed = item == NULL || PyList_Append(notable, item) < 0;
                Py_XDECREF(item);
            }
        }
        Py_DECREF(entry);
        if (failed) goto fail;
    }
    PyObject *result = PyTuple_New(3);
    if (result == NULL) goto fail;
    PyTuple_SET_ITEM(result, 0, by_key);
    PyTuple_SET_ITEM(result, 1, notable);
    PyTuple_SET_ITEM(result, 2, Py_NewRef(underscored ? Py_True : Py_False));
    return result;
fail:
    Py_XDECREF(by_key);
    Py_XDECREF(notable);
    return NULL;
}

/* -- read_head: the head read whole, its meaning checked --------------------- */

/* What bind() gives: the checks in Python (make_head), the head type and where
 * its fields are kept, the names' table and its filler, the two versions. */
static PyObject *make_head;
static PyTypeObject *head_type;
static PyObject *name_table;
static PyObject *name_of;
static PyObject *versions[2];
static PyObject *empty_str;
static PyObject *packed_attr;
enum {
    H_METHOD, H_RAW_URI, H_PATH, H_QUERY, H_VERSION, H_LINES, H_CONTENT_LENGTH,
    H_CHUNKED, H_KEEP_ALIVE, H_EXPECT_CONTINUE, H_UPGRADE, H_FIELDS, H_UNDERSCORED, H_FORWARDED, H_COUNT
};
static const char *head_fields[H_COUNT] = {
    "method", "raw_uri", "path", "query", "version", "lines", "content_length",
    "chunked", "keep_alive", "expect_continue", "upgrade", "fields", "underscored", "forwarded",
};
static Py_ssize_t head_offsets[H_COUNT];
/* the kinds of names make_head looks at (strict.py) */
enum { N_OTHER, N_HOST, N_CTYPE, N_CLEN, N_TE, N_CONN, N_EXPECT, N_UPGRADE, N_UNDER };
/* added to a kind: the name carries forwarding information (strict._FORWARD) */
#define N_FORWARD 16

static PyObject *
bind(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6 || !PyType_Check(args[1]) || !PyDict_Check(args[2])
            || !PyTuple_Check(args[4]) || !PyTuple_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "bind(make_head, head_type, names: dict, name_of, v10, v11)");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[1];
    PyObject *slots = PyObject_GetAttrString(args[1], "__slots__");
    if (slots == NULL) return NULL;
    Py_ssize_t offsets[H_COUNT];
    int same = PyTuple_Check(slots) && PyTuple_GET_SIZE(slots) == H_COUNT;
    for (int k = 0; same && k < H_COUNT; k++) {
        PyObject *name = PyTuple_GET_ITEM(slots, k);
        same = PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, head_fields[k]) == 0;
        PyObject *descr = same ? PyDict_GetItemWithError(type->tp_dict, name) : NULL;
        same = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)
            && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (same) offsets[k] = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    Py_DECREF(slots);
    if (!same) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "the head type's slots are not the ones read_head fills");
        return NULL;
    }
    memcpy(head_offsets, offsets, sizeof offsets);
    Py_XSETREF(make_head, Py_NewRef(args[0]));
    Py_XSETREF(head_type, (PyTypeObject *)Py_NewRef(args[1]));
    Py_XSETREF(name_table, Py_NewRef(args[2]));
    Py_XSETREF(name_of, Py_NewRef(args[3]));
    Py_XSETREF(versions[0], Py_NewRef(args[4]));
    Py_XSETREF(versions[1], Py_NewRef(args[5]));
    Py_RETURN_NONE;
}

/* A str equal, ignoring ASCII case, to the lower-case word w. */
static int
is_word(PyObject *s, const char *w)
{
    Py_ssize_t n = (Py_ssize_t)strlen(w);
    if (PyUnicode_GET_LENGTH(s) != n || PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) return 0;
    const unsigned char *c = PyUnicode_1BYTE_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char x = c[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (x != (unsigned char)w[i]) return 0;
    }
    return 1;
}

/* A Content-Length of 1 to 18 ASCII digits, else -1. */
static long long
short_length(PyObject *s)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n < 1 || n > 18 || PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) return -1;
    const unsigned char *c = PyUnicode_1BYTE_DATA(s);
    long long v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (c[i] < '0' || c[i] > '9') return -1;
        v = v * 10 + (c[i] - '0');
    }
    return v;
}

/* The head made from what the scan found (lines: names and values in turn),
 * for the heads whose checks all pass without a word from make_head: 1 with
 * *head set, 0 when make_head must say (anything else), -1 with an exception
 * set. */
static int
plain_head(PyObject *method, PyObject *target, int minor, PyObject *lines,
           long long body_limit, int refuse_underscore, PyObject **head)
{
    /* origin-form target: path and query, the fragment cut off */
    if (PyUnicode_READ_CHAR(target, 0) != '/' || is_word(method, "connect")) return 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(target);
    const unsigned char *t = PyUnicode_1BYTE_DATA(target);
    Py_ssize_t cut = n, mark = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (t[i] == '#') {
            cut = i;
            break;
        }
        if (t[i] == '?' && mark < 0) mark = i;
    }
    int hosts = 0, ctypes = 0, underscored = 0, forwarded = 0;
    int conn = 0;  /* 1 keep-alive, 2 close */
    long long clen = -1;
    PyObject *by_key = PyDict_New();
    if (by_key == NULL) return -1;
    for (Py_ssize_t k = 0; k + 1 < PyList_GET_SIZE(lines); k += 2) {
        PyObject *name = PyList_GET_ITEM(lines, k);
        PyObject *value = PyList_GET_ITEM(lines, k + 1);
        PyObject *entry = PyDict_GetItemWithError(name_table, name);
        if (entry != NULL) {
            Py_INCREF(entry);
        } else if (PyErr_Occurred() || (entry = PyObject_CallOneArg(name_of, name)) == NULL) {
            goto fail;
        }
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2) {
            Py_DECREF(entry);
            PyErr_SetString(PyExc_TypeError, "a name's entry must be a (kind, key) tuple");
            goto fail;
        }
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(entry, 0));
        PyObject *key = PyTuple_GET_ITEM(entry, 1);
        int failed = kind == -1 && PyErr_Occurred();
        if (!failed) {
            if (key == Py_None) underscored = 1;
            else failed = add_value(by_key, key, value) < 0;
        }
        Py_DECREF(entry);
        if (failed) goto fail;
        if (kind & N_FORWARD) {
            forwarded = 1;
            kind &= ~(long)N_FORWARD;
        }
        switch (kind) {
        case N_OTHER:
        case N_UPGRADE:  /* no upgrade without "upgrade" in Connection */
            break;
        case N_HOST:
            hosts++;
            break;
        case N_CTYPE:
            ctypes++;
            break;
        case N_CLEN:
            if (clen >= 0 || (clen = short_length(value)) < 0) goto other;
            break;
        case N_CONN:
            if (conn) goto other;
            if (is_word(value, "keep-alive")) conn = 1;
            else if (is_word(value, "close")) conn = 2;
            else goto other;
            break;
        case N_UNDER:
            if (refuse_underscore) goto other;
            break;
        default:  /* Transfer-Encoding, Expect */
            goto other;
        }
    }
    if (hosts > 1 || (hosts == 0 && minor == 1) || ctypes > 1) goto other;
    if (body_limit && clen > body_limit) goto other;
    PyObject *path = mark >= 0 || cut < n ? PyUnicode_Substring(target, 0, mark >= 0 ? mark : cut)
                                          : Py_NewRef(target);
    PyObject *query = mark >= 0 ? PyUnicode_Substring(target, mark + 1, cut) : Py_NewRef(empty_str);
    PyObject *length = clen >= 0 ? PyLong_FromLongLong(clen) : Py_NewRef(Py_None);
    PyObject *made = head_type->tp_alloc(head_type, 0);
    if (path == NULL || query == NULL || length == NULL || made == NULL) {
        Py_XDECREF(path);
        Py_XDECREF(query);
        Py_XDECREF(length);
        Py_XDECREF(made);
        goto fail;
    }
    PyObject *values[H_COUNT] = {
        Py_NewRef(method), Py_NewRef(target), path, query, Py_NewRef(versions[minor]),
        Py_NewRef(lines), length, Py_NewRef(Py_False),
        Py_NewRef(conn == 2 ? Py_False : conn == 1 || minor == 1 ? Py_True : Py_False),
        Py_NewRef(Py_False), Py_NewRef(Py_False), by_key,
        Py_NewRef(underscored ? Py_True : Py_False), Py_NewRef(forwarded ? Py_True : Py_False),
    };
    for (int k = 0; k < H_COUNT; k++) *(PyObject **)((char *)made + head_offsets[k]) = values[k];
    *head = made;
    return 1;
other:
    Py_DECREF(by_key);
    return 0;
fail:
    Py_DECREF(by_key);
    return -1;
}

static PyObject *
read_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "read_head(data, start, end, limits)");
        return NULL;
    }
    if (make_head == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "read_head before bind()");
        return NULL;
    }
    PyObject *packed = PyObject_GetAttr(args[3], packed_attr);
    if (packed == NULL) return NULL;
    /* request line, field size, fields, body, refuse "_", casefold */
    long long lim[6];
    int ok = PyTuple_Check(packed) && PyTuple_GET_SIZE(packed) == 6;
    for (int k = 0; ok && k < 6; k++) {
        lim[k] = PyLong_AsLongLong(PyTuple_GET_ITEM(packed, k));
        ok = !(lim[k] == -1 && PyErr_Occurred());
    }
    Py_DECREF(packed);
    if (!ok) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "limits.packed: six ints");
        return NULL;
    }
    Py_buffer view;
    Py_ssize_t start, n, stop = 0;
    const unsigned char *p = span(args[0], args[1], args[2], &view, &start, &n);
    if (p == NULL) return NULL;
    PyObject *method = NULL, *target = NULL, *lines = NULL, *head = NULL, *result = NULL;
    int minor = 0;
    int found = scan(p, n, &method, &target, &minor, &lines, &stop, 1);
    PyBuffer_Release(&view);
    if (found <= 0) return found == 0 ? Py_NewRef(Py_None) : NULL;
    /* limits a head must be read line by line to be judged by (414, 431) */
    if ((lim[0] && PyUnicode_GET_LENGTH(target) + 14 > lim[0]) || (lim[1] && stop > lim[1])
            || (lim[2] && PyList_GET_SIZE(lines) / 2 > lim[2])) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    /* a method to fold to upper case: make_head's to do */
    found = lim[5] ? 0 : plain_head(method, target, minor, lines, lim[3], (int)lim[4], &head);
    if (found == 0) {  /* make_head takes (name, value) pairs */
        Py_ssize_t count = PyList_GET_SIZE(lines) / 2;
        PyObject *pairs = PyList_New(count);
        for (Py_ssize_t k = 0; pairs != NULL && k < count; k++) {
            PyObject *pair = PyTuple_Pack(2, PyList_GET_ITEM(lines, 2 * k),
                                          PyList_GET_ITEM(lines, 2 * k + 1));
            if (pair == NULL) Py_CLEAR(pairs);
            else PyList_SET_ITEM(pairs, k, pair);
        }
        if (pairs != NULL) {
            PyObject *call[5] = {method, target, versions[minor], pairs, args[3]};
            head = PyObject_Vectorcall(make_head, call, 5, NULL);
            Py_DECREF(pairs);
        }
    }
    if (head != NULL) {
        PyObject *end = PyLong_FromSsize_t(start + stop);
        if (end != NULL && (result = PyTuple_New(2)) != NULL) {
            PyTuple_SET_ITEM(result, 0, head);
            PyTuple_SET_ITEM(result, 1, end);
        } else {
            Py_DECREF(head);
            Py_XDECREF(end);
        }
    }
done:
    Py_DECREF(method);
    Py_DECREF(target);
    Py_DECREF(lines);
    return result;
}

/* field_lines(first, code, headers, table, check)
 *     -> (lines, content_length, own, close, dropped)
 * The response head's lines from the status line on (see headscan.py). */
#define KIND_PLAIN 0
#define KIND_LENGTH 1
#define KIND_DATE 2
#define KIND_SERVER 3
#define KIND_CLOSE 4
#define KIND_DROP 5
#define FEW_ITEMS 16

static PyObject *
field_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 5 || !PyBytes_Check(args[0]) || !PyList_Check(args[2])
            || !PyDict_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "field_lines(first: bytes, code, headers: list, table: dict, check)");
        return NULL;
    }
    long code = PyLong_AsLong(args[1]);
    if (code == -1 && PyErr_Occurred()) return NULL;
    PyObject *first = args[0], *headers = args[2], *table = args[3], *check = args[4];
    PyObject *few[FEW_ITEMS];
    PyObject **kept = few;  /* the lines that go out, each a new reference */
    Py_ssize_t count = 0, room = FEW_ITEMS, size = PyBytes_GET_SIZE(first);
    PyObject *clen = Py_None, *dropped = NULL, *result = NULL;
    int own = 0, close = 0;
    Py_INCREF(clen);
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(headers); k++) {
        PyObject *item = PyList_GET_ITEM(headers, k);
        Py_INCREF(item);  /* check() may change the list */
        PyObject *entry = NULL;
        if (PyTuple_CheckExact(item)) {
            entry = PyDict_GetItemWithError(table, item);
            if (entry != NULL) {
                Py_INCREF(entry);
            } else if (PyErr_Occurred()) {
                Py_DECREF(item);
                goto done;
            }
        }
        if (entry == NULL) {
            entry = PyObject_CallOneArg(check, item);
            if (entry == NULL) {
                Py_DECREF(item);
                goto done;
            }
        }
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3
                || !PyBytes_Check(PyTuple_GET_ITEM(entry, 1))) {
            Py_DECREF(entry);
            Py_DECREF(item);
            PyErr_SetString(PyExc_TypeError, "an entry must be a (kind, line, length) tuple");
            goto done;
        }
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(entry, 0));
        PyObject *line = PyTuple_GET_ITEM(entry, 1);
        int keep = 1;
        if (kind == -1 && PyErr_Occurred()) {
            Py_DECREF(entry);
            Py_DECREF(item);
            goto done;
        }
        if (kind == KIND_LENGTH) {
            if (code == 204 || code == 304) {
                keep = 0;  /* RFC 9110 8.6: never sent with these statuses */
            } else {
                Py_SETREF(clen, Py_NewRef(PyTuple_GET_ITEM(entry, 2)));
            }
        } else if (kind == KIND_DATE) {
            own |= 1;
        } else if (kind == KIND_SERVER) {
            own |= 2;
        } else if (kind == KIND_CLOSE) {
            close = 1;
            keep = 0;
        } else if (kind != KIND_PLAIN) {  /* KIND_DROP: the item's name */
            keep = 0;
            PyObject *name = PySequence_GetItem(item, 0);
            if (name == NULL || (dropped == NULL && (dropped = PyList_New(0)) == NULL)
                    || PyList_Append(dropped, name) < 0) {
                Py_XDECREF(name);
                Py_DECREF(entry);
                Py_DECREF(item);
                goto done;
            }
            Py_DECREF(name);
        }
        if (keep) {
            if (count == room) {
                Py_ssize_t more = room * 2;
                PyObject **grown = PyMem_Malloc((size_t)more * sizeof(PyObject *));
                if (grown == NULL) {
                    PyErr_NoMemory();
                    Py_DECREF(entry);
                    Py_DECREF(item);
                    goto done;
                }
                memcpy(grown, kept, (size_t)count * sizeof(PyObject *));
                if (kept != few) PyMem_Free(kept);
                kept = grown;
                room = more;
            }
            kept[count++] = Py_NewRef(line);
            size += PyBytes_GET_SIZE(line);
        }
        Py_DECREF(entry);
        Py_DECREF(item);
    }
    {
        PyObject *lines = PyBytes_FromStringAndSize(NULL, size);
        if (lines == NULL) goto done;
        char *out = PyBytes_AS_STRING(lines);
        memcpy(out, PyBytes_AS_STRING(first), (size_t)PyBytes_GET_SIZE(first));
        out += PyBytes_GET_SIZE(first);
        for (Py_ssize_t k = 0; k < count; k++) {
            memcpy(out, PyBytes_AS_STRING(kept[k]), (size_t)PyBytes_GET_SIZE(kept[k]));
            out += PyBytes_GET_SIZE(kept[k]);
        }
        PyObject *names = dropped != NULL ? PyList_AsTuple(dropped) : PyTuple_New(0);
        PyObject *owned = PyLong_FromLong(own);
        if (names == NULL || owned == NULL) {
            Py_DECREF(lines);
            Py_XDECREF(names);
            Py_XDECREF(owned);
            goto done;
        }
        result = PyTuple_New(5);
        if (result == NULL) {
            Py_DECREF(lines);
            Py_DECREF(names);
            Py_DECREF(owned);
            goto done;
        }
        PyTuple_SET_ITEM(result, 0, lines);
        PyTuple_SET_ITEM(result, 1, Py_NewRef(clen));
        PyTuple_SET_ITEM(result, 2, owned);
        PyTuple_SET_ITEM(result, 3, Py_NewRef(close ? Py_True : Py_False));
        PyTuple_SET_ITEM(result, 4, names);
    }
done:
    for (Py_ssize_t k = 0; k < count; k++) Py_DECREF(kept[k]);
    if (kept != few) PyMem_Free(kept);
    Py_DECREF(clen);
    Py_XDECREF(dropped);
    return result;
}

/* -- frame: how a response is delimited, and its head ------------------------ */

/* What bind_exchange() gives: the exchange and connection types, whose slots
 * are read and written here by their offsets (as read_head fills a head's),
 * the Date/Server lines' cache and the function that makes them when the
 * application set one itself, and the four framing modes. */
static PyTypeObject *exchange_type;
static PyTypeObject *conn_type;
static PyObject *date_cache;
static PyObject *own_lines;
static PyObject *at_name;
static PyObject *modes[4];
enum { MODE_NONE, MODE_LENGTH, MODE_CHUNKED, MODE_CLOSE };
/* Every slot of an exchange (its response half's too), in the order they are
 * filled by new_exchange; bind_exchange() checks that these are all the type has. */
enum {
    X_WRITES, X_STATUS, X_STATUS_LINE, X_HEADERS, X_CLEN, X_MUST_CLOSE, X_LINE, X_OWN,
    X_HEADERS_SENT, X_CYCLE, X_HEAD, X_BODY, X_CONN, X_ENVIRON, X_KEEP_ALIVE, X_SENT,
    X_ITERABLE, X_ITER_CLOSED, X_CLOSED, X_T0, X_HOOK_REQ, X_OUTPUT, X_COUNT
};
static const char *exchange_fields[X_COUNT] = {
    "writes", "status", "status_line", "headers", "content_length", "must_close", "_line", "_own",
    "headers_sent", "cycle", "head", "body", "conn", "environ", "keep_alive", "sent",
    "_iterable", "_iter_closed", "_closed", "_t0", "_hook_req", "output",
};
static Py_ssize_t exchange_offsets[X_COUNT];
static Py_ssize_t allowed_offset;  /* the connection's keepalive_allowed */
/* and the ones where the environ builder keeps what every request on the
 * connection shares (see build_environ) */
enum { C_BASE, C_HOST, C_TRUSTED, C_COUNT };
static const char *conn_environ_fields[C_COUNT] = {"environ_base", "environ_host", "environ_trusted"};
static Py_ssize_t conn_environ_offsets[C_COUNT];
enum { D_SINCE, D_UNTIL, D_LINE, D_COUNT };
static const char *date_fields[D_COUNT] = {"since", "until", "line"};
static Py_ssize_t date_offsets[D_COUNT];

#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))

/* The offset of the slot ``name`` of ``type`` (its own or a base class's). */
static int
slot_offset(PyObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *descr = PyObject_GetAttrString(type, name);
    if (descr == NULL) return -1;
    int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type)
        && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
    if (ok) *offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    Py_DECREF(descr);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s is not a slot of %R", name, type);
        return -1;
    }
    return 0;
}

/* A slot's value (borrowed), AttributeError when it was never set. */
static PyObject *
get_slot(PyObject *obj, Py_ssize_t offset, const char *name)
{
    PyObject *value = SLOT(obj, offset);
    if (value == NULL) PyErr_Format(PyExc_AttributeError, "%s is not set", name);
    return value;
}

static void
set_slot(PyObject *obj, Py_ssize_t offset, PyObject *value)
{
    PyObject *old = SLOT(obj, offset);
    SLOT(obj, offset) = Py_NewRef(value);
    Py_XDECREF(old);
}

static int bind_new_exchange(PyObject *type);

static PyObject *
bind_exchange(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 5 || !PyType_Check(args[0]) || !PyType_Check(args[1])
            || !PyTuple_Check(args[4]) || PyTuple_GET_SIZE(args[4]) != 4) {
        PyErr_SetString(PyExc_TypeError,
                        "bind_exchange(exchange_type, conn_type, date, own_lines, modes)");
        return NULL;
    }
    if (head_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "bind_exchange before bind()");
        return NULL;
    }
    Py_ssize_t allowed, dates[D_COUNT];
    if (slot_offset(args[1], "keepalive_allowed", &allowed) < 0) return NULL;
    Py_ssize_t conn_offsets[C_COUNT];
    for (int k = 0; k < C_COUNT; k++) {
        if (slot_offset(args[1], conn_environ_fields[k], &conn_offsets[k]) < 0) return NULL;
    }
    PyObject *date_type = (PyObject *)Py_TYPE(args[2]);
    for (int k = 0; k < D_COUNT; k++) {
        if (slot_offset(date_type, date_fields[k], &dates[k]) < 0) return NULL;
    }
    if (at_name == NULL && (at_name = PyUnicode_InternFromString("at")) == NULL) return NULL;
    if (bind_new_exchange(args[0]) < 0) return NULL;
    memcpy(date_offsets, dates, sizeof dates);
    allowed_offset = allowed;
    memcpy(conn_environ_offsets, conn_offsets, sizeof conn_offsets);
    Py_XSETREF(exchange_type, (PyTypeObject *)Py_NewRef(args[0]));
    Py_XSETREF(conn_type, (PyTypeObject *)Py_NewRef(args[1]));
    Py_XSETREF(date_cache, Py_NewRef(args[2]));
    Py_XSETREF(own_lines, Py_NewRef(args[3]));
    for (int k = 0; k < 4; k++) Py_XSETREF(modes[k], Py_NewRef(PyTuple_GET_ITEM(args[4], k)));
    Py_RETURN_NONE;
}

/* The Date and Server lines of the current second (a new reference). */
static PyObject *
date_lines(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    PyObject *since = get_slot(date_cache, date_offsets[D_SINCE], "since");
    PyObject *until = get_slot(date_cache, date_offsets[D_UNTIL], "until");
    PyObject *line = get_slot(date_cache, date_offsets[D_LINE], "line");
    if (since == NULL || until == NULL || line == NULL) return NULL;
    if (PyFloat_CheckExact(since) && PyFloat_CheckExact(until) && PyBytes_CheckExact(line)
            && PyFloat_AS_DOUBLE(since) <= now && now < PyFloat_AS_DOUBLE(until)) {
        return Py_NewRef(line);
    }
    PyObject *at = PyFloat_FromDouble(now);
    if (at == NULL) return NULL;
    line = PyObject_CallMethodOneArg(date_cache, at_name, at);
    Py_DECREF(at);
    if (line != NULL && !PyBytes_Check(line)) {
        Py_DECREF(line);
        PyErr_SetString(PyExc_TypeError, "the date lines must be bytes");
        return NULL;
    }
    return line;
}

/* A version equal to versions[minor]. */
static int
is_version(PyObject *version, int minor)
{
    if (version == versions[minor]) return 1;
    if (version == versions[1 - minor]) return 0;
    return PyObject_RichCompareBool(version, versions[minor], Py_EQ);
}

/* A Python int as a long long, LLONG_MAX for a larger one; -1 with an error set. */
static long long
as_length(PyObject *value)
{
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow > 0) return LLONG_MAX;
    if (overflow < 0) return LLONG_MIN;
    return n;
}

/* The decision and the head for the exchange ``ex`` (see the Python
 * definition, corral.server.http.cycle.python_frame_head); with ``body``, the
 * whole response (python_frame_whole).  total < 0: not known. */
static PyObject *
frame(PyObject *ex, long long total, PyObject *body, int *mode_out)
{
    if (exchange_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "frame before bind_exchange()");
        return NULL;
    }
    if (!PyObject_TypeCheck(ex, exchange_type)) {
        PyErr_Format(PyExc_TypeError, "not an exchange: %R", ex);
        return NULL;
    }
    const Py_ssize_t *off = exchange_offsets;
    PyObject *head = get_slot(ex, off[X_HEAD], "head");
    PyObject *conn = get_slot(ex, off[X_CONN], "conn");
    if (head == NULL || conn == NULL) return NULL;
    if (!PyObject_TypeCheck(head, head_type) || !PyObject_TypeCheck(conn, conn_type)) {
        PyErr_SetString(PyExc_TypeError, "an exchange's head or conn of another type");
        return NULL;
    }
    PyObject *method = get_slot(head, head_offsets[H_METHOD], "method");
    PyObject *version = get_slot(head, head_offsets[H_VERSION], "version");
    PyObject *head_keep = get_slot(head, head_offsets[H_KEEP_ALIVE], "keep_alive");
    PyObject *allowed = get_slot(conn, allowed_offset, "keepalive_allowed");
    PyObject *status_obj = get_slot(ex, off[X_STATUS], "status");
    PyObject *clen_obj = get_slot(ex, off[X_CLEN], "content_length");
    PyObject *must_close = get_slot(ex, off[X_MUST_CLOSE], "must_close");
    PyObject *line = get_slot(ex, off[X_LINE], "_line");
    PyObject *own_obj = get_slot(ex, off[X_OWN], "_own");
    if (method == NULL || version == NULL || head_keep == NULL || allowed == NULL
            || status_obj == NULL || clen_obj == NULL || must_close == NULL || line == NULL
            || own_obj == NULL) {
        return NULL;
    }
    if (!PyBytes_Check(line)) {
        PyErr_SetString(PyExc_TypeError, "_line must be bytes");
        return NULL;
    }
    long status = PyLong_AsLong(status_obj);
    long own = PyLong_AsLong(own_obj);
    if ((status == -1 || own == -1) && PyErr_Occurred()) return NULL;
    int v11 = is_version(version, 1);
    int v10 = v11 == 1 ? 0 : is_version(version, 0);
    int request_keep = PyObject_IsTrue(head_keep);
    int keep_allowed = PyObject_IsTrue(allowed);
    int closing = PyObject_IsTrue(must_close);
    if (v11 < 0 || v10 < 0 || request_keep < 0 || keep_allowed < 0 || closing < 0) return NULL;
    int keep = request_keep && keep_allowed && !closing;
    int is_head = PyUnicode_Check(method) && PyUnicode_CompareWithASCIIString(method, "HEAD") == 0;
    int mode;
    char extra[96];  /* the framing and connection lines */
    int n = 0;
    if (is_head || (status >= 100 && status < 200) || status == 204 || status == 304) {
        mode = MODE_NONE;
        if (total > 0 && clen_obj == Py_None && is_head)
            n = snprintf(extra, sizeof extra, "Content-Length: %lld\r\n", total);  /* what GET would say */
    } else if (clen_obj != Py_None) {
        mode = MODE_LENGTH;
    } else if (total >= 0) {
        mode = MODE_LENGTH;
        n = snprintf(extra, sizeof extra, "Content-Length: %lld\r\n", total);
    } else if (v11) {
        mode = MODE_CHUNKED;
        n = snprintf(extra, sizeof extra, "Transfer-Encoding: chunked\r\n");
    } else {
        mode = MODE_CLOSE;
        keep = 0;
    }
    if (keep) {
        if (v10) n += snprintf(extra + n, sizeof extra - (size_t)n, "Connection: keep-alive\r\n");
    } else if (request_keep || v11) {  /* an HTTP/1.0 client closes anyway */
        n += snprintf(extra + n, sizeof extra - (size_t)n, "Connection: close\r\n");
    }
    /* with the body: cut to the length announced, or the connection ends after
     * a body shorter than that */
    Py_ssize_t body_size = 0;
    if (body != NULL && mode != MODE_NONE) {
        body_size = PyBytes_GET_SIZE(body);
        if (clen_obj != Py_None) {
            long long clen = as_length(clen_obj);
            if (clen == -1 && PyErr_Occurred()) return NULL;
            if (clen < (long long)body_size) {
                if (clen < 0) clen = 0;
                body_size = (Py_ssize_t)clen;
            } else if (clen > (long long)body_size) {
                keep = 0;
            }
        }
    }
    Py_INCREF(line);  /* held across the Python code the date lines may run */
    PyObject *date = own ? PyObject_CallOneArg(own_lines, own_obj) : date_lines();
    if (date == NULL) {
        Py_DECREF(line);
        return NULL;
    }
    if (!PyBytes_Check(date)) {
        Py_DECREF(date);
        Py_DECREF(line);
        PyErr_SetString(PyExc_TypeError, "the date lines must be bytes");
        return NULL;
    }
    Py_ssize_t size = 9 + PyBytes_GET_SIZE(line) + PyBytes_GET_SIZE(date) + n + 2 + body_size;
    PyObject *data = PyBytes_FromStringAndSize(NULL, size);
    if (data == NULL) {
        Py_DECREF(date);
        Py_DECREF(line);
        return NULL;
    }
    char *out = PyBytes_AS_STRING(data);
    memcpy(out, v11 ? "HTTP/1.1 " : "HTTP/1.0 ", 9);
    out += 9;
    memcpy(out, PyBytes_AS_STRING(line), (size_t)PyBytes_GET_SIZE(line));
    out += PyBytes_GET_SIZE(line);
    Py_DECREF(line);
    memcpy(out, PyBytes_AS_STRING(date), (size_t)PyBytes_GET_SIZE(date));
    out += PyBytes_GET_SIZE(date);
    Py_DECREF(date);
    memcpy(out, extra, (size_t)n);
    out += n;
    memcpy(out, "\r\n", 2);
    out += 2;
    if (body_size) memcpy(out, PyBytes_AS_STRING(body), (size_t)body_size);
    if (body != NULL && mode != MODE_NONE) {
        PyObject *sent = PyLong_FromSsize_t(body_size);  /* nothing was sent before */
        if (sent == NULL) {
            Py_DECREF(data);
            return NULL;
        }
        set_slot(ex, off[X_SENT], sent);
        Py_DECREF(sent);
    }
    set_slot(ex, off[X_KEEP_ALIVE], keep ? Py_True : Py_False);
    set_slot(ex, off[X_HEADERS_SENT], Py_True);
    *mode_out = mode;
    return data;
}

static PyObject *
frame_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "frame_head(exchange, total)");
        return NULL;
    }
    long long total = -1;
    if (args[1] != Py_None) {
        total = PyLong_AsLongLong(args[1]);
        if (total == -1 && PyErr_Occurred()) return NULL;
        if (total < 0) {
            PyErr_SetString(PyExc_ValueError, "a negative total");
            return NULL;
        }
    }
    int mode = 0;
    PyObject *data = frame(args[0], total, NULL, &mode);
    if (data == NULL) return NULL;
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, Py_NewRef(modes[mode]));
    PyTuple_SET_ITEM(result, 1, data);
    return result;
}

static PyObject *
frame_whole(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "frame_whole(exchange, body: bytes)");
        return NULL;
    }
    int mode = 0;
    return frame(args[0], (long long)PyBytes_GET_SIZE(args[1]), args[1], &mode);
}

/* -- new_exchange: one request's exchange, made as Exchange.__init__ makes it -- */

static PyObject *run_name;
static PyObject *access_name;
static PyObject *zero_int;
static PyObject *zero_float;
static PyObject *empty_bytes;

/* The names of every slot of ``type`` and its bases (a set), or NULL. */
static PyObject *
all_slots(PyTypeObject *type)
{
    PyObject *names = PySet_New(NULL);
    PyObject *mro = type->tp_mro;
    if (names == NULL || mro == NULL) {
        Py_XDECREF(names);
        return NULL;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(mro); k++) {
        PyObject *base = PyTuple_GET_ITEM(mro, k);
        PyObject *slots = PyDict_GetItemString(((PyTypeObject *)base)->tp_dict, "__slots__");
        if (slots == NULL) continue;
        if (PyUnicode_Check(slots)) {
            if (PySet_Add(names, slots) < 0) goto fail;
            continue;
        }
        PyObject *each = PyObject_GetIter(slots), *name;
        if (each == NULL) goto fail;
        while ((name = PyIter_Next(each)) != NULL) {
            int added = PySet_Add(names, name);
            Py_DECREF(name);
            if (added < 0) break;
        }
        Py_DECREF(each);
        if (PyErr_Occurred()) goto fail;
    }
    return names;
fail:
    Py_DECREF(names);
    return NULL;
}

/* Check that the exchange type's slots are the ones new_exchange fills, and
 * keep their offsets. */
static int
bind_new_exchange(PyObject *type)
{
    Py_ssize_t offsets[X_COUNT];
    for (int k = 0; k < X_COUNT; k++) {
        if (slot_offset(type, exchange_fields[k], &offsets[k]) < 0) return -1;
    }
    PyObject *names = all_slots((PyTypeObject *)type);
    if (names == NULL) return -1;
    Py_ssize_t count = PySet_GET_SIZE(names);
    Py_DECREF(names);
    if (count != X_COUNT) {
        PyErr_Format(PyExc_TypeError, "%R has %zd slots, new_exchange fills %d",
                     type, count, X_COUNT);
        return -1;
    }
    if ((run_name == NULL && (run_name = PyUnicode_InternFromString("_run")) == NULL)
            || (access_name == NULL
                && (access_name = PyUnicode_InternFromString("access_enabled")) == NULL)
            || (zero_int == NULL && (zero_int = PyLong_FromLong(0)) == NULL)
            || (zero_float == NULL && (zero_float = PyFloat_FromDouble(0.0)) == NULL)
            || (empty_bytes == NULL && (empty_bytes = PyBytes_FromStringAndSize(NULL, 0)) == NULL)) {
        return -1;
    }
    memcpy(exchange_offsets, offsets, sizeof offsets);
    return 0;
}

/* new_exchange(cycle, head, body, conn): see Exchange.__init__, its Python
 * definition (corral.server.http.cycle). */
static PyObject *
new_exchange(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "new_exchange(cycle, head, body, conn)");
        return NULL;
    }
    if (exchange_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "new_exchange before bind_exchange()");
        return NULL;
    }
    PyObject *access = PyObject_GetAttr(args[0], access_name);
    if (access == NULL) return NULL;
    int timed = PyObject_IsTrue(access);
    Py_DECREF(access);
    if (timed < 0) return NULL;
    PyObject *t0;
    if (timed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0 = PyFloat_FromDouble((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
    } else {
        t0 = Py_NewRef(zero_float);
    }
    PyObject *writes = PyList_New(0), *headers = PyList_New(0);
    PyObject *ex = exchange_type->tp_alloc(exchange_type, 0);
    if (t0 == NULL || writes == NULL || headers == NULL || ex == NULL) {
        Py_XDECREF(t0);
        Py_XDECREF(writes);
        Py_XDECREF(headers);
        Py_XDECREF(ex);
        return NULL;
    }
    PyObject *values[X_COUNT - 1] = {
        writes, Py_NewRef(zero_int), Py_NewRef(empty_str), headers, Py_NewRef(Py_None),
        Py_NewRef(Py_False), Py_NewRef(empty_bytes), Py_NewRef(zero_int), Py_NewRef(Py_False),
        Py_NewRef(args[0]), Py_NewRef(args[1]), Py_NewRef(args[2]), Py_NewRef(args[3]),
        Py_NewRef(Py_None), Py_NewRef(Py_False), Py_NewRef(zero_int), Py_NewRef(Py_None),
        Py_NewRef(Py_False), Py_NewRef(Py_False), t0, Py_NewRef(Py_None),
    };
    for (int k = 0; k < X_COUNT - 1; k++) SLOT(ex, exchange_offsets[k]) = values[k];
    PyObject *output = PyObject_CallMethodNoArgs(ex, run_name);  /* the wire output */
    if (output == NULL) {
        Py_DECREF(ex);
        return NULL;
    }
    SLOT(ex, exchange_offsets[X_OUTPUT]) = output;
    return ex;
}

/* -- build_environ: one request's WSGI environ -------------------------------- */

/* What bind_environ() gives: path_info() and the header_map policy that drops
 * names with "_"; and the names of the environ keys and builder methods used.
 * The connection's slots are found by bind_exchange(). */
static PyObject *path_info_fn;
static PyObject *drop_policy;
enum {
    K_HTTP_HOST, K_REQUEST_METHOD, K_RAW_URI, K_QUERY_STRING, K_SERVER_PROTOCOL, K_INPUT,
    K_PATH_INFO, K_HTTP_10, K_CONNECTION_BASE, K_POINT, K_WITH_UNDERSCORES, K_FORWARDED,
    K_SCRIPT_NAME, K_UNDERSCORES, K_COUNT
};
static const char *environ_words[K_COUNT] = {
    "HTTP_HOST", "REQUEST_METHOD", "RAW_URI", "QUERY_STRING", "SERVER_PROTOCOL", "wsgi.input",
    "PATH_INFO", "HTTP/1.0", "connection_base", "_point", "_with_underscores", "_forwarded",
    "script_name", "underscores",
};
static PyObject *words[K_COUNT];

static PyObject *
bind_environ(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "bind_environ(path_info, drop_policy)");
        return NULL;
    }
    for (int k = 0; k < K_COUNT; k++) {
        if (words[k] == NULL && (words[k] = PyUnicode_InternFromString(environ_words[k])) == NULL)
            return NULL;
    }
    Py_XSETREF(path_info_fn, Py_NewRef(args[0]));
    Py_XSETREF(drop_policy, Py_NewRef(args[1]));
    Py_RETURN_NONE;
}

/* build_environ(builder, head, body, conn): see the Python definition,
 * corral.server.http.environ.python_build_environ; the rarer steps (a
 * connection's first request, another Host, names with "_", forwarding
 * headers, a path to decode) are the builder's own methods. */
static PyObject *
build_environ(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "build_environ(builder, head, body, conn)");
        return NULL;
    }
    if (path_info_fn == NULL || conn_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "build_environ before bind_environ() and bind_exchange()");
        return NULL;
    }
    PyObject *builder = args[0], *head = args[1], *body = args[2], *conn = args[3];
    if (!PyObject_TypeCheck(head, head_type) || !PyObject_TypeCheck(conn, conn_type)) {
        PyErr_SetString(PyExc_TypeError, "build_environ: a head or conn of another type");
        return NULL;
    }
    PyObject *base = get_slot(conn, conn_environ_offsets[C_BASE], "environ_base");
    if (base == NULL) return NULL;
    if (base == Py_None) {
        base = PyObject_CallMethodOneArg(builder, words[K_CONNECTION_BASE], conn);
    } else {
        Py_INCREF(base);
    }
    if (base == NULL) return NULL;
    PyObject *env = NULL;
    PyObject *fields = get_slot(head, head_offsets[H_FIELDS], "fields");
    PyObject *known_host = get_slot(conn, conn_environ_offsets[C_HOST], "environ_host");
    if (fields == NULL || known_host == NULL) goto fail;
    if (!PyDict_Check(fields) || !PyDict_Check(base)) {
        PyErr_SetString(PyExc_TypeError, "build_environ: fields and base must be dicts");
        goto fail;
    }
    PyObject *host = PyDict_GetItemWithError(fields, words[K_HTTP_HOST]);
    if (host == NULL) {
        if (PyErr_Occurred()) goto fail;
        host = Py_None;
    }
    if (host != known_host) {
        int other = PyObject_RichCompareBool(host, known_host, Py_NE);
        if (other < 0) goto fail;
        if (other) {  /* SERVER_NAME and SERVER_PORT as the base has them */
            PyObject *call[4] = {builder, conn, base, host};
            PyObject *done = PyObject_VectorcallMethod(
                words[K_POINT], call, 4, NULL);
            if (done == NULL) goto fail;
            Py_DECREF(done);
        }
    }
    env = PyDict_Copy(base);
    if (env == NULL || PyDict_Update(env, fields) < 0) goto fail;
    PyObject *method = get_slot(head, head_offsets[H_METHOD], "method");
    PyObject *raw_uri = get_slot(head, head_offsets[H_RAW_URI], "raw_uri");
    PyObject *query = get_slot(head, head_offsets[H_QUERY], "query");
    PyObject *version = get_slot(head, head_offsets[H_VERSION], "version");
    PyObject *underscored = get_slot(head, head_offsets[H_UNDERSCORED], "underscored");
    PyObject *path = get_slot(head, head_offsets[H_PATH], "path");
    PyObject *forwarded = get_slot(head, head_offsets[H_FORWARDED], "forwarded");
    if (method == NULL || raw_uri == NULL || query == NULL || version == NULL
            || underscored == NULL || path == NULL || forwarded == NULL) {
        goto fail;
    }
    int v11 = is_version(version, 1);
    if (v11 < 0
            || PyDict_SetItem(env, words[K_REQUEST_METHOD], method) < 0
            || PyDict_SetItem(env, words[K_RAW_URI], raw_uri) < 0
            || PyDict_SetItem(env, words[K_QUERY_STRING], query) < 0
            || (!v11 && PyDict_SetItem(env, words[K_SERVER_PROTOCOL], words[K_HTTP_10]) < 0)
            || PyDict_SetItem(env, words[K_INPUT], body) < 0) {
        goto fail;
    }
    int some = PyObject_IsTrue(underscored);
    if (some < 0) goto fail;
    if (some) {
        PyObject *policy = PyObject_GetAttr(builder, words[K_UNDERSCORES]);
        if (policy == NULL) goto fail;
        int kept = PyObject_RichCompareBool(policy, drop_policy, Py_NE);
        Py_DECREF(policy);
        if (kept < 0) goto fail;
        if (kept) {
            PyObject *call[4] = {builder, head, env, conn};
            PyObject *made = PyObject_VectorcallMethod(
                words[K_WITH_UNDERSCORES], call, 4, NULL);
            Py_DECREF(env);
            Py_DECREF(base);
            return made;
        }
    }
    PyObject *script_name = PyObject_GetAttr(builder, words[K_SCRIPT_NAME]);
    if (script_name == NULL) goto fail;
    int rooted = PyObject_IsTrue(script_name);
    Py_ssize_t percent = PyUnicode_Check(path)
        ? PyUnicode_FindChar(path, '%', 0, PyUnicode_GET_LENGTH(path), 1) : 0;
    if (rooted < 0 || percent == -2) {
        Py_DECREF(script_name);
        goto fail;
    }
    if (percent >= 0 || rooted) {
        path = PyObject_CallFunctionObjArgs(path_info_fn, path, script_name, NULL);
    } else {
        Py_INCREF(path);
    }
    Py_DECREF(script_name);
    if (path == NULL) goto fail;
    int failed = PyDict_SetItem(env, words[K_PATH_INFO], path) < 0;
    Py_DECREF(path);
    if (failed) goto fail;
    int fwd = PyObject_IsTrue(forwarded);
    if (fwd < 0) goto fail;
    if (fwd) {
        PyObject *trusted = get_slot(conn, conn_environ_offsets[C_TRUSTED], "environ_trusted");
        int trusts = trusted != NULL ? PyObject_IsTrue(trusted) : -1;
        if (trusts < 0) goto fail;
        if (trusts) {
            PyObject *call[3] = {builder, env, conn};
            PyObject *done = PyObject_VectorcallMethod(
                words[K_FORWARDED], call, 3, NULL);
            if (done == NULL) goto fail;
            Py_DECREF(done);
        }
    }
    Py_DECREF(base);
    return env;
fail:
    Py_XDECREF(env);
    Py_DECREF(base);
    return NULL;
}

/* -- start_response: what the application says, checked and kept ------------- */

/* What bind_response() gives: the response type, whose slots are written here
 * by their offsets, the tables of statuses and header items already checked
 * and the functions that check new ones. */
static PyTypeObject *response_type;
static PyObject *status_table;
static PyObject *field_table;
static PyObject *check_status;
static PyObject *check_field;
static PyObject *dropped_name;
static PyObject *append_name;
enum { R_STATUS, R_STATUS_LINE, R_HEADERS, R_CLEN, R_MUST_CLOSE, R_OWN, R_LINE, R_WRITES, R_COUNT };
static const char *response_fields[R_COUNT] = {
    "status", "status_line", "headers", "content_length", "must_close", "_own", "_line", "writes",
};
static Py_ssize_t response_offsets[R_COUNT];

static PyObject *
bind_response(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 5 || !PyType_Check(args[0]) || !PyDict_Check(args[1]) || !PyDict_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "bind_response(response_type, statuses: dict, fields: dict, "
                        "check_status, check_field)");
        return NULL;
    }
    Py_ssize_t offsets[R_COUNT];
    for (int k = 0; k < R_COUNT; k++) {
        if (slot_offset(args[0], response_fields[k], &offsets[k]) < 0) return NULL;
    }
    if (dropped_name == NULL && (dropped_name = PyUnicode_InternFromString("dropped")) == NULL)
        return NULL;
    if (append_name == NULL && (append_name = PyUnicode_InternFromString("append")) == NULL)
        return NULL;
    memcpy(response_offsets, offsets, sizeof offsets);
    Py_XSETREF(response_type, (PyTypeObject *)Py_NewRef(args[0]));
    Py_XSETREF(status_table, Py_NewRef(args[1]));
    Py_XSETREF(field_table, Py_NewRef(args[2]));
    Py_XSETREF(check_status, Py_NewRef(args[3]));
    Py_XSETREF(check_field, Py_NewRef(args[4]));
    Py_RETURN_NONE;
}

/* start_response(response, status, headers, again): see the Python definition,
 * corral.server.http.response.python_start_response. */
static PyObject *
start_response(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "start_response(response, status, headers, again)");
        return NULL;
    }
    if (response_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "start_response before bind_response()");
        return NULL;
    }
    PyObject *resp = args[0], *status = args[1], *headers = args[2];
    if (!PyObject_TypeCheck(resp, response_type)) {
        PyErr_Format(PyExc_TypeError, "not a response: %R", resp);
        return NULL;
    }
    const Py_ssize_t *off = response_offsets;
    int again = PyObject_IsTrue(args[3]);
    if (again < 0) return NULL;
    if (!again) {
        PyObject *current = get_slot(resp, off[R_STATUS], "status");
        if (current == NULL) return NULL;
        int started = PyObject_IsTrue(current);
        if (started < 0) return NULL;
        if (started) {
            PyErr_SetString(PyExc_AssertionError,
                            "start_response called a second time without exc_info");
            return NULL;
        }
    }
    PyObject *known = NULL;
    if (PyUnicode_CheckExact(status)) {
        known = PyDict_GetItemWithError(status_table, status);
        if (known != NULL) {
            Py_INCREF(known);
        } else if (PyErr_Occurred()) {
            return NULL;
        }
    }
    if (known == NULL && (known = PyObject_CallOneArg(check_status, status)) == NULL) return NULL;
    if (!PyTuple_Check(known) || PyTuple_GET_SIZE(known) != 2
            || !PyBytes_Check(PyTuple_GET_ITEM(known, 1))) {
        Py_DECREF(known);
        PyErr_SetString(PyExc_TypeError, "a status entry must be a (code, line) tuple");
        return NULL;
    }
    if (!PyList_Check(headers)) {
        Py_DECREF(known);
        PyErr_SetString(PyExc_AssertionError, "headers must be a list of (name, value) tuples");
        return NULL;
    }
    PyObject *call[5] = {
        PyTuple_GET_ITEM(known, 1), PyTuple_GET_ITEM(known, 0), headers, field_table, check_field,
    };
    PyObject *lines = field_lines(NULL, call, 5);
    if (lines == NULL) {
        Py_DECREF(known);
        return NULL;
    }
    /* (lines, content_length, own, close, dropped) */
    if (PyTuple_GET_SIZE(PyTuple_GET_ITEM(lines, 4))) {
        PyObject *said = PyObject_CallMethodOneArg(resp, dropped_name, PyTuple_GET_ITEM(lines, 4));
        if (said == NULL) {
            Py_DECREF(known);
            Py_DECREF(lines);
            return NULL;
        }
        Py_DECREF(said);
    }
    PyObject *writes = get_slot(resp, off[R_WRITES], "writes");
    PyObject *append = writes != NULL ? PyObject_GetAttr(writes, append_name) : NULL;
    if (append != NULL) {
        set_slot(resp, off[R_STATUS], PyTuple_GET_ITEM(known, 0));
        set_slot(resp, off[R_STATUS_LINE], status);
        set_slot(resp, off[R_HEADERS], headers);
        set_slot(resp, off[R_CLEN], PyTuple_GET_ITEM(lines, 1));
        set_slot(resp, off[R_MUST_CLOSE], PyTuple_GET_ITEM(lines, 3));
        set_slot(resp, off[R_OWN], PyTuple_GET_ITEM(lines, 2));
        set_slot(resp, off[R_LINE], PyTuple_GET_ITEM(lines, 0));
    }
    Py_DECREF(known);
    Py_DECREF(lines);
    return append;
}

static PyMethodDef methods[] = {
    {"scan_head", (PyCFunction)(void (*)(void))scan_head, METH_FASTCALL,
     "scan_head(data, start, end): (method, target, minor, fields, stop), or None."},
    {"sort_fields", (PyCFunction)(void (*)(void))sort_fields, METH_FASTCALL,
     "sort_fields(fields, names, name_of): (by_key, notable, underscored)."},
    {"bind", (PyCFunction)(void (*)(void))bind, METH_FASTCALL,
     "bind(make_head, head_type, names, name_of, v10, v11): what read_head needs."},
    {"read_head", (PyCFunction)(void (*)(void))read_head, METH_FASTCALL,
     "read_head(data, start, end, limits): (head, end), or None."},
    {"field_lines", (PyCFunction)(void (*)(void))field_lines, METH_FASTCALL,
     "field_lines(first, code, headers, table, check): "
     "(lines, content_length, own, close, dropped)."},
    {"bind_response", (PyCFunction)(void (*)(void))bind_response, METH_FASTCALL,
     "bind_response(response_type, statuses, fields, check_status, check_field): "
     "what start_response needs."},
    {"start_response", (PyCFunction)(void (*)(void))start_response, METH_FASTCALL,
     "start_response(response, status, headers, again): the application's write()."},
    {"bind_exchange", (PyCFunction)(void (*)(void))bind_exchange, METH_FASTCALL,
     "bind_exchange(exchange_type, conn_type, date, own_lines, modes): what frame_* need."},
    {"new_exchange", (PyCFunction)(void (*)(void))new_exchange, METH_FASTCALL,
     "new_exchange(cycle, head, body, conn): one request's exchange."},
    {"bind_environ", (PyCFunction)(void (*)(void))bind_environ, METH_FASTCALL,
     "bind_environ(path_info, drop_policy): what build_environ needs."},
    {"build_environ", (PyCFunction)(void (*)(void))build_environ, METH_FASTCALL,
     "build_environ(builder, head, body, conn): one request's WSGI environ."},
    {"frame_head", (PyCFunction)(void (*)(void))frame_head, METH_FASTCALL,
     "frame_head(exchange, total): (mode, head)."},
    {"frame_whole", (PyCFunction)(void (*)(void))frame_whole, METH_FASTCALL,
     "frame_whole(exchange, body): the head and the body, framed."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_headscan",
    "Compiled request-head scanning (see corral.server.http.headscan).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__headscan(void)
{
    init_tables();
    empty_str = PyUnicode_New(0, 0);
    packed_attr = PyUnicode_InternFromString("packed");
    if (empty_str == NULL || packed_attr == NULL) return NULL;
    return PyModule_Create(&module_def);
}

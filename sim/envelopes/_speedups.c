/* The structured CloudEvent proof, compiled.
 *
 * After msgspec has decoded a structured event into the inspection view,
 * ce_exact() walks the top-level members of the same bytes once and answers
 * True only when the view is the whole truth about them:
 *
 *   - every member name is one the view declares, spelled without escapes,
 *     and none appears twice;
 *   - specversion is "1.0"; id, source and type are non-empty strings;
 *     subject, datacontenttype and dataschema are null or non-empty strings;
 *   - time is null or an RFC 3339 timestamp with an offset that names a real
 *     day (a leap second is left to the Python checks);
 *   - data and data_base64 are not both present, data_base64 is a string, and
 *     each starts exactly where the msgspec.Raw kept for it starts, so the
 *     payload is skipped by its length without being read again.
 *
 * False means "not proven", never "invalid": the caller then runs the
 * complete checks in Python, which raise the precise error or accept an
 * event this walk does not cover (extension attributes, escaped names,
 * leap seconds).  The walk relies on msgspec having accepted the text as
 * JSON but still checks every bound, so any bytes are safe.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <structmember.h>

/* The members of sim.envelopes.cloudevents._View, in its order; a test
 * holds the two lists equal. */
enum {
    M_SPECVERSION, M_ID, M_SOURCE, M_TYPE, M_SUBJECT, M_TIME,
    M_DATACONTENTTYPE, M_DATASCHEMA, M_DATA, M_DATA_BASE64,
    M_TRACEPARENT, M_TRACESTATE, M_PARTITIONKEY, M_SEQUENCE, M_SEQUENCETYPE,
    M_DATAREF, M_AUTHTYPE, M_AUTHID, M_RECORDEDTIME, M_COUNT
};

static const char *const MEMBERS[M_COUNT] = {
    "specversion", "id", "source", "type", "subject", "time",
    "datacontenttype", "dataschema", "data", "data_base64",
    "traceparent", "tracestate", "partitionkey", "sequence", "sequencetype",
    "dataref", "authtype", "authid", "recordedtime",
};

#define REQUIRED ((1u << M_SPECVERSION) | (1u << M_ID) | (1u << M_SOURCE) | \
                  (1u << M_TYPE))
#define NOT_EMPTY (REQUIRED | (1u << M_SUBJECT) | (1u << M_DATACONTENTTYPE) | \
                   (1u << M_DATASCHEMA))

static Py_ssize_t LENGTHS[M_COUNT];

/* Member names hash by their length and first, second and last bytes into
 * a table with no collisions (checked when the module loads); memcmp then
 * confirms the match. */
#define TABLE_SIZE 32
static signed char TABLE[TABLE_SIZE];

static inline unsigned int
name_hash(const char *name, Py_ssize_t len)
{
    return ((unsigned int)len * 6u + (unsigned char)name[0] * 9u +
            (unsigned char)name[1] * 7u + (unsigned char)name[len - 1] * 4u) %
           TABLE_SIZE;
}

static int
build_table(void)
{
    memset(TABLE, -1, sizeof TABLE);
    for (int i = 0; i < M_COUNT; i++) {
        LENGTHS[i] = (Py_ssize_t)strlen(MEMBERS[i]);
        unsigned int h = name_hash(MEMBERS[i], LENGTHS[i]);
        if (TABLE[h] >= 0) {
            return -1;
        }
        TABLE[h] = (signed char)i;
    }
    return 0;
}

static inline int
member_index(const char *name, Py_ssize_t len)
{
    if (len < 2) {
        return -1; /* no member name is shorter */
    }
    int i = TABLE[name_hash(name, len)];
    if (i >= 0 && LENGTHS[i] == len &&
        memcmp(MEMBERS[i], name, (size_t)len) == 0) {
        return i;
    }
    return -1;
}

static inline const char *
skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* p is at an opening quote; returns the byte after the closing quote, or
 * NULL.  *escaped tells whether a backslash was seen; an escape's next byte
 * is skipped (a \uXXXX's hex digits are plain bytes).  On x86-64 sixteen
 * bytes are compared at a time, since envelope strings are mostly shorter
 * than a memchr call is worth; elsewhere memchr finds the quote and any
 * backslash before it. */
#if defined(__SSE2__)
#include <emmintrin.h>

static inline const char *
skip_string(const char *p, const char *end, int *escaped)
{
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    int seen = 0;
    p++;
    while (end - p >= 16) {
        __m128i chunk = _mm_loadu_si128((const __m128i *)p);
        unsigned int quotes =
            (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, quote));
        unsigned int slashes =
            (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, backslash));
        if ((quotes | slashes) == 0) {
            p += 16;
            continue;
        }
        int at = __builtin_ctz(quotes | slashes);
        if (quotes & (1u << at)) {
            *escaped = seen;
            return p + at + 1;
        }
        seen = 1;
        p += at + 2;
    }
    for (; p < end; p++) {
        if (*p == '"') {
            *escaped = seen;
            return p + 1;
        }
        if (*p == '\\') {
            seen = 1;
            p++;
        }
    }
    return NULL;
}
#else
static inline const char *
skip_string(const char *p, const char *end, int *escaped)
{
    int seen = 0;
    p++;
    while (p < end) {
        const char *quote = memchr(p, '"', (size_t)(end - p));
        if (quote == NULL) {
            return NULL;
        }
        const char *backslash = memchr(p, '\\', (size_t)(quote - p));
        if (backslash == NULL) {
            *escaped = seen;
            return quote + 1;
        }
        seen = 1;
        p = backslash + 2;
    }
    return NULL;
}
#endif

static inline int
digits(const char *p, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
        v = v * 10 + (p[i] - '0');
    }
    *value = v;
    return 1;
}

/* RFC 3339 date-time with a time-offset, in s[0:n] (the string's content). */
static int
rfc3339(const char *s, Py_ssize_t n)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year, month, day, hour, minute, second, oh, om;
    if (n < 20 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':') {
        return 0;
    }
    if (!digits(s, 4, &year) || !digits(s + 5, 2, &month) ||
        !digits(s + 8, 2, &day) || !digits(s + 11, 2, &hour) ||
        !digits(s + 14, 2, &minute) || !digits(s + 17, 2, &second)) {
        return 0;
    }
    if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 ||
        second > 59) {
        return 0;
    }
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > days[month - 1] + (month == 2 && leap)) {
        return 0;
    }
    Py_ssize_t i = 19;
    if (s[i] == '.') {
        Py_ssize_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == start) {
            return 0;
        }
    }
    if (i == n - 1 && (s[i] == 'Z' || s[i] == 'z')) {
        return 1;
    }
    if (i == n - 6 && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
        digits(s + i + 1, 2, &oh) && digits(s + i + 4, 2, &om)) {
        return oh <= 23 && om <= 59;
    }
    return 0;
}

/* Where a msgspec.Raw's bytes start and how many there are. */
static int
raw_span(PyObject *raw, const char **start, Py_ssize_t *len)
{
    Py_buffer view;
    if (PyObject_GetBuffer(raw, &view, PyBUF_SIMPLE) < 0) {
        PyErr_Clear();
        return 0;
    }
    *start = view.buf;
    *len = view.len;
    PyBuffer_Release(&view);
    return 1;
}

/* The walk described at the top: 1 when proven, 0 when not. */
static int
prove(const char *p, const char *end, PyObject *data, PyObject *data_base64)
{
    PyObject *payloads[2] = {data, data_base64};
    unsigned int seen = 0;
    int escaped;

    p = skip_space(p, end);
    if (p >= end || *p != '{') {
        return 0;
    }
    p = skip_space(p + 1, end);
    for (;;) {
        if (p >= end || *p != '"') {
            return 0; /* includes {}: the required members are missing */
        }
        const char *name = p + 1;
        p = skip_string(p, end, &escaped);
        if (p == NULL || escaped) {
            return 0;
        }
        int index = member_index(name, p - 1 - name);
        if (index < 0 || (seen & (1u << index))) {
            return 0;
        }
        seen |= 1u << index;
        p = skip_space(p, end);
        if (p >= end || *p != ':') {
            return 0;
        }
        p = skip_space(p + 1, end);
        if (p >= end) {
            return 0;
        }

        if (index == M_DATA || index == M_DATA_BASE64) {
            const char *start;
            Py_ssize_t len;
            PyObject *raw = payloads[index - M_DATA];
            if (!raw_span(raw, &start, &len) || start != p || len > end - p ||
                (index == M_DATA_BASE64 && *p != '"')) {
                return 0;
            }
            p += len;
        }
        else if (*p == '"') {
            const char *value = p + 1;
            p = skip_string(p, end, &escaped);
            if (p == NULL) {
                return 0;
            }
            Py_ssize_t len = p - 1 - value;
            if (len == 0 && (NOT_EMPTY & (1u << index))) {
                return 0;
            }
            if (index == M_SPECVERSION &&
                (len != 3 || memcmp(value, "1.0", 3) != 0)) {
                return 0;
            }
            if (index == M_TIME && (escaped || !rfc3339(value, len))) {
                return 0;
            }
        }
        else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            if (REQUIRED & (1u << index)) {
                return 0;
            }
            p += 4;
        }
        else {
            return 0; /* time holding a number, an object... */
        }

        p = skip_space(p, end);
        if (p >= end) {
            return 0;
        }
        if (*p == '}') {
            break;
        }
        if (*p != ',') {
            return 0;
        }
        p = skip_space(p + 1, end);
    }
    return skip_space(p + 1, end) == end && (seen & REQUIRED) == REQUIRED &&
           !((seen & (1u << M_DATA)) && (seen & (1u << M_DATA_BASE64)));
}

static PyObject *
ce_exact(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "ce_exact(body, data, data_base64)");
        return NULL;
    }
    const char *p;
    Py_ssize_t size;
    if (PyBytes_CheckExact(args[0])) {
        p = PyBytes_AS_STRING(args[0]);
        size = PyBytes_GET_SIZE(args[0]);
    }
    else if (!raw_span(args[0], &p, &size)) {
        Py_RETURN_FALSE;
    }
    /* A buffer other than bytes (a batch element's msgspec.Raw) is read
     * after its view is released: its owner, args[0], keeps it alive and
     * neither bytes nor Raw can be resized. */
    return PyBool_FromLong(prove(p, p + size, args[1], args[2]));
}

/* How many elements the JSON array in buf holds, counted before anything
 * is decoded: commas outside strings at depth one, plus one unless the
 * array is empty.  The text need not be valid JSON; the decoder that
 * follows reports what is wrong with it. */
static PyObject *
array_length(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const char *p = view.buf, *end = p + view.len;
    Py_ssize_t depth = 0, commas = 0;
    int any = 0, escaped;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            if (depth == 1) {
                any = 1;
            }
            p = skip_string(p, end, &escaped);
            if (p == NULL) {
                break;
            }
            continue;
        }
        if (c == '[' || c == '{') {
            if (depth == 1) {
                any = 1;
            }
            depth++;
        }
        else if (c == ']' || c == '}') {
            depth--;
        }
        else if (depth == 1 && c == ',') {
            commas++;
        }
        else if (depth == 1 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            any = 1;
        }
        p++;
    }
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(any || commas ? commas + 1 : 0);
}

/* -- the whole structured fast path ------------------------------------ */

/* Set once by configure(): the view decoder's bound decode method, the
 * CloudEvent class, the byte offsets of its slots, and the constants the
 * fast path stores. */
enum { S_VIEW, S_RAW, S_HEADERS, S_LIMITS, S_POINTER, S_MODE, S_EXTRA, S_BODY,
       S_COUNT };
static const char *const SLOTS[S_COUNT] = {
    "_view", "_raw", "_headers", "_limits", "_pointer", "_mode", "_extra",
    "_body",
};
static PyObject *view_decoder = NULL;    /* _DECODER */
static PyObject *decode_view = NULL;     /* type(_DECODER).decode */
static Py_ssize_t data_offset, data_base64_offset; /* in the view */
static PyTypeObject *event_type = NULL;  /* CloudEvent */
static PyObject *parse_python = NULL;    /* _detect.parse, for the rest */
static PyObject *structured_python = NULL; /* cloudevents.parse_structured */
static PyObject *default_limits = NULL;  /* DEFAULT_LIMITS */
static Py_ssize_t default_max_bytes = 0;
static Py_ssize_t slot_offset[S_COUNT];
static PyObject *empty_pointer = NULL;
static PyObject *structured_mode = NULL;
static PyTypeObject *view_type = NULL;   /* _View */
static PyObject *name_view = NULL;
static PyObject *content_type_lower = NULL;
static PyObject *content_type_usual = NULL;
static PyObject *structured_type = NULL;

/* The byte offset of a slot that holds an object, or -1 with TypeError. */
static Py_ssize_t
slot_of(PyObject *cls, const char *name)
{
    PyObject *descr = PyObject_GetAttrString(cls, name);
    if (descr == NULL) {
        return -1;
    }
    Py_ssize_t offset = -1;
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
        ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX) {
        offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    Py_DECREF(descr);
    if (offset < 0) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot",
                     ((PyTypeObject *)cls)->tp_name, name);
    }
    return offset;
}

static PyObject *
configure(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyType_Check(args[1]) ||
        !PyType_Check(args[2]) || !PyCallable_Check(args[3]) ||
        !PyCallable_Check(args[4]) || !PyLong_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError,
                        "configure(decoder, view_class, event_class, parse, "
                        "parse_structured, default_limits, max_bytes)");
        return NULL;
    }
    Py_ssize_t offsets[S_COUNT];
    for (int i = 0; i < S_COUNT; i++) {
        if ((offsets[i] = slot_of(args[2], SLOTS[i])) < 0) {
            return NULL;
        }
    }
    Py_ssize_t data_at = slot_of(args[1], "data");
    Py_ssize_t data_base64_at =
        data_at < 0 ? -1 : slot_of(args[1], "data_base64");
    if (data_base64_at < 0) {
        return NULL;
    }
    Py_ssize_t max_bytes = PyLong_AsSsize_t(args[6]);
    if (max_bytes == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (empty_pointer == NULL) {
        empty_pointer = PyUnicode_InternFromString("");
        structured_mode = PyUnicode_InternFromString("structured");
        name_view = PyUnicode_InternFromString("view");
        content_type_lower = PyUnicode_InternFromString("content-type");
        content_type_usual = PyUnicode_InternFromString("Content-Type");
        structured_type =
            PyUnicode_InternFromString("application/cloudevents+json");
        if (!empty_pointer || !structured_mode || !name_view ||
            !content_type_lower || !content_type_usual || !structured_type) {
            return NULL;
        }
    }
    memcpy(slot_offset, offsets, sizeof offsets);
    data_offset = data_at;
    data_base64_offset = data_base64_at;
    default_max_bytes = max_bytes;
    PyObject *decode = PyObject_GetAttrString((PyObject *)Py_TYPE(args[0]),
                                              "decode");
    if (decode == NULL) {
        return NULL;
    }
    Py_XSETREF(decode_view, decode);
    Py_XSETREF(view_decoder, Py_NewRef(args[0]));
    Py_XSETREF(view_type, (PyTypeObject *)Py_NewRef(args[1]));
    Py_XSETREF(event_type, (PyTypeObject *)Py_NewRef(args[2]));
    Py_XSETREF(parse_python, Py_NewRef(args[3]));
    Py_XSETREF(structured_python, Py_NewRef(args[4]));
    Py_XSETREF(default_limits, Py_NewRef(args[5]));
    Py_RETURN_NONE;
}

static inline int
all_ascii(const char *p, Py_ssize_t n)
{
    const char *end = p + n;
    uint64_t a = 0, b = 0, c = 0, d = 0, w[4];
    for (; end - p >= 32; p += 32) {
        memcpy(w, p, 32);
        a |= w[0];
        b |= w[1];
        c |= w[2];
        d |= w[3];
    }
    for (; p < end; p++) {
        a |= (unsigned char)*p;
    }
    return ((a | b | c | d) & 0x8080808080808080ULL) == 0;
}

/* The structured fast path on ASCII bytes: a CloudEvent when the walk
 * proves it, the decoded view when it does not, None when the body does
 * not decode (or is not ASCII bytes), NULL with an exception set only for
 * what must propagate (MemoryError, KeyboardInterrupt...). */
static PyObject *
structured(PyObject *body, PyObject *headers, PyObject *limits)
{
    if (!PyBytes_CheckExact(body) ||
        !all_ascii(PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))) {
        Py_RETURN_NONE;
    }
    PyObject *call[2] = {view_decoder, body};
    PyObject *view = PyObject_Vectorcall(decode_view, call, 2, NULL);
    if (view == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            return NULL;
        }
        PyErr_Clear(); /* the checks in Python decode again and say why */
        Py_RETURN_NONE;
    }
    if (!Py_IS_TYPE(view, view_type)) {
        return view; /* cannot be: the decoder builds views */
    }
    /* Borrowed: the view holds them while it is alive. */
    PyObject *data = *(PyObject **)((char *)view + data_offset);
    PyObject *data_base64 = *(PyObject **)((char *)view + data_base64_offset);
    const char *p = PyBytes_AS_STRING(body);
    if (data == NULL || data_base64 == NULL ||
        !prove(p, p + PyBytes_GET_SIZE(body), data, data_base64)) {
        return view;
    }
    PyObject *event = event_type->tp_alloc(event_type, 0);
    if (event == NULL) {
        Py_DECREF(view);
        return NULL;
    }
    PyObject *values[S_COUNT] = {
        view, body, headers, limits, empty_pointer, structured_mode, Py_None,
        Py_None,
    };
    for (int i = 0; i < S_COUNT; i++) {
        PyObject **slot = (PyObject **)((char *)event + slot_offset[i]);
        Py_XSETREF(*slot, i == S_VIEW ? values[i] : Py_NewRef(values[i]));
    }
    return event;
}

static PyObject *
ce_structured(PyObject *Py_UNUSED(module), PyObject *const *args,
              Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "ce_structured(body, headers, limits)");
        return NULL;
    }
    if (decode_view == NULL) {
        Py_RETURN_NONE;
    }
    return structured(args[0], args[1], args[2]);
}

/* parse(body, headers=None, *, limits=None): a structured CloudEvent in
 * bytes, with a dict of headers whose Content-Type is spelled
 * "content-type" exactly once, is inspected here; every other call goes to
 * the Python parse, unchanged. */
static PyObject *
parse(PyObject *Py_UNUSED(module), PyObject *const *args, size_t nargsf,
      PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (parse_python == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups is not configured");
        return NULL;
    }
    if (kwnames != NULL || nargs != 2 || !PyBytes_CheckExact(args[0]) ||
        !PyDict_CheckExact(args[1]) ||
        PyBytes_GET_SIZE(args[0]) > default_max_bytes) {
        return PyObject_Vectorcall(parse_python, args, nargsf, kwnames);
    }
    PyObject *headers = args[1];
    PyObject *content_type = PyDict_GetItemWithError(headers,
                                                     content_type_lower);
    if (content_type == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        return PyObject_Vectorcall(parse_python, args, nargsf, kwnames);
    }
    /* Compared before the second lookup, which may run a key's __eq__ and
     * change the dict: the borrowed value is not used after it. */
    int is_structured = PyUnicode_CheckExact(content_type) &&
                           (content_type == structured_type ||
                            PyUnicode_Compare(content_type, structured_type) == 0);
    if (!is_structured) {
        return PyObject_Vectorcall(parse_python, args, nargsf, kwnames);
    }
    int usual = PyDict_Contains(headers, content_type_usual);
    if (usual < 0) {
        return NULL;
    }
    if (usual) {
        return PyObject_Vectorcall(parse_python, args, nargsf, kwnames);
    }
    PyObject *found = structured(args[0], headers, default_limits);
    if (found == NULL || Py_IS_TYPE(found, event_type)) {
        return found;
    }
    /* Not proven: the Python checks take the body, and the view if any. */
    PyObject *call[3] = {args[0], headers, default_limits};
    PyObject *names = NULL, *result;
    if (found == Py_None) {
        result = PyObject_Vectorcall(structured_python, call, 3, NULL);
    }
    else {
        PyObject *with_view[4] = {args[0], headers, default_limits, found};
        names = PyTuple_Pack(1, name_view);
        result = names ? PyObject_Vectorcall(structured_python, with_view, 3,
                                             names)
                       : NULL;
    }
    Py_XDECREF(names);
    Py_DECREF(found);
    return result;
}

static PyMethodDef methods[] = {
    {"array_length", array_length, METH_O,
     "array_length(buf) -> int\n\n"
     "Elements of the JSON array in buf, counted without decoding it."},
    {"parse", (PyCFunction)(void (*)(void))parse,
     METH_FASTCALL | METH_KEYWORDS,
     "parse($module, /, body, headers=None, *, limits=None)\n--\n\n"
     "sim.envelopes.parse, with the structured CloudEvent hot path compiled.\n"
     "Every call it does not take goes to the Python parse unchanged; see\n"
     "that function (sim.envelopes._detect.parse) for the documentation."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "configure(decode, event_class)\n\n"
     "Name the view decoder and the CloudEvent class ce_structured builds."},
    {"ce_structured", (PyCFunction)(void (*)(void))ce_structured,
     METH_FASTCALL,
     "ce_structured(body, headers, limits) -> CloudEvent | view | None\n\n"
     "The structured hot path: an ASCII check, the view decode and the\n"
     "walk, then the event built.  Returns the decoded view when the walk\n"
     "does not prove it, and None when the body is not ASCII bytes or does\n"
     "not decode; the Python checks take both."},
    {"ce_exact", (PyCFunction)(void (*)(void))ce_exact, METH_FASTCALL,
     "ce_exact(body, data, data_base64) -> bool\n\n"
     "True when the structured CloudEvent in body needs no further checks:\n"
     "declared members only, none repeated, required attributes set and\n"
     "non-empty, time in RFC 3339, payloads where msgspec found them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups",
    "Compiled checks for the envelope hot path.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (build_table() < 0) {
        PyErr_SetString(PyExc_RuntimeError, "member names collide in TABLE");
        Py_DECREF(m);
        return NULL;
    }
    PyObject *names = PyTuple_New(M_COUNT);
    if (names == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    for (int i = 0; i < M_COUNT; i++) {
        PyObject *name = PyUnicode_FromString(MEMBERS[i]);
        if (name == NULL) {
            Py_DECREF(names);
            Py_DECREF(m);
            return NULL;
        }
        PyTuple_SET_ITEM(names, i, name);
    }
    if (PyModule_AddObject(m, "CE_MEMBERS", names) < 0) {
        Py_DECREF(names);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

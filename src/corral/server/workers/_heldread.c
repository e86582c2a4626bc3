/*
 * corral.server.workers._heldread: a read from a non-blocking socket that
 * keeps the GIL.
 *
 *     recv(fd, size) -> bytes
 *
 * What the socket holds, up to ``size`` bytes; b"" at the end of the input;
 * OSError (BlockingIOError when nothing is there, ConnectionResetError, a
 * bad descriptor, a negative size, ...) and OverflowError as os.read raises
 * them.  The same read(2) as os.read and socket.recv, without
 * releasing the GIL around it: a read that cannot block takes a few
 * microseconds, and releasing the GIL for it only lets a waiting thread take
 * the interpreter, which the reading thread must then wait to get back (two
 * thread switches where the process has one core).  The gthread worker's
 * poll loop reads its ready connections with it; where this file is not built
 * it uses os.read.
 *
 * Only for descriptors in non-blocking mode: on a blocking one the call would
 * hold the GIL for as long as the read waits.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <limits.h>
#include <unistd.h>

static PyObject *
held_recv(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "recv(fd, size) takes two arguments");
        return NULL;
    }
    long fd = PyLong_AsLong(args[0]);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    if (fd < INT_MIN || fd > INT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "Python int too large to convert to C int");
        return NULL;
    }
    Py_ssize_t size = PyLong_AsSsize_t(args[1]);
    if (size == -1 && PyErr_Occurred())
        return NULL;
    if (size < 0) {  /* as os.read answers it */
        errno = EINVAL;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL)
        return NULL;
    ssize_t n;
    for (;;) {
        n = read((int)fd, PyBytes_AS_STRING(out), (size_t)size);
        if (n >= 0 || errno != EINTR)
            break;
        if (PyErr_CheckSignals() < 0) {  /* a signal handler raised */
            Py_DECREF(out);
            return NULL;
        }
    }
    if (n < 0) {
        Py_DECREF(out);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (n != size && _PyBytes_Resize(&out, n) < 0)
        return NULL;
    return out;
}

static PyMethodDef methods[] = {
    {"recv", (PyCFunction)(void (*)(void))held_recv, METH_FASTCALL,
     "recv(fd, size) -> bytes: read a non-blocking descriptor, keeping the GIL."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_heldread",
    "A read from a non-blocking socket that keeps the GIL.", 0, methods,
};

PyMODINIT_FUNC
PyInit__heldread(void)
{
    return PyModuleDef_Init(&module_def);
}

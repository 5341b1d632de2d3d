/*
 * What the kernels share: argument-buffer handling, clamps, and each
 * concern's entry points (decode.c, propagation.c, tracking.c, codecs.c, fusion.c), which module.c
 * puts in the extension's method table.
 */
#ifndef VIS_ROS_KERNELS_H
#define VIS_ROS_KERNELS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline long clamp_long(long v, long lo, long hi) { return v < lo ? lo : (v > hi ? hi : v); }

static inline double clamp_double(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* Release the argument buffers a call parsed (count of them, then their addresses). */
static inline void release_buffers(int count, ...) {
    va_list buffers;
    va_start(buffers, count);
    for (int i = 0; i < count; i++) PyBuffer_Release(va_arg(buffers, Py_buffer *));
    va_end(buffers);
}

static inline int check_length(const Py_buffer *b, Py_ssize_t needed, const char *name) {
    if (b->len < needed) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, needs %zd", name, b->len, needed);
        return -1;
    }
    return 0;
}

/* decode.c: the decoder's selection and masks. */
PyObject *vr_build_masks(PyObject *self, PyObject *args);
PyObject *vr_select_detections(PyObject *self, PyObject *args);
/* propagation.c: masks moved by optical flow between keyframes. */
PyObject *vr_warp_masks(PyObject *self, PyObject *args);
/* tracking.c: the tracker's Kalman filter and association similarity. */
PyObject *vr_kalman_predict(PyObject *self, PyObject *args);
PyObject *vr_kalman_correct_rows(PyObject *self, PyObject *args);
PyObject *vr_similarity_mask_box(PyObject *self, PyObject *args);
/* codecs.c: mask run lengths for the wire. */
PyObject *vr_encode_runs(PyObject *self, PyObject *arg);
/* fusion.c: depth fusion's per-instance points. */
PyObject *vr_instance_points(PyObject *self, PyObject *args);

#endif

/*
 * The tracker's per-frame work in C (core/tracking/): the constant-velocity
 * Kalman filter over all tracks and the association similarity. Kept because
 * in the node's pipeline they save 0.1-0.15 ms per frame of 8 objects, which
 * is what the node's overhead budget (0.20 x engine time) has left on fast
 * CPUs (docs/benchmarks.md).
 */
#include "kernels.h"

/* np.maximum(v, 1.0): NaN stays NaN. */
static double at_least_one(double v) { return v < 1.0 ? 1.0 : v; }

/*
 * The box tracker's constant-velocity Kalman filter (tracking/kalman.py):
 * state rows [cx, cy, w, h, vcx, vcy, vw, vh], covariance rows (3, 4) of
 * [position variance, position-velocity covariance, velocity variance] per
 * coordinate. The expressions are kalman.py's and constant_velocity.py's,
 * evaluated in the same order in double, so the results are the same bits.
 */
PyObject *vr_kalman_predict(PyObject *self, PyObject *args) {
    Py_buffer means, covs, out_means, out_covs;
    Py_ssize_t n;
    double dt, pos_process, vel_process;
    if (!PyArg_ParseTuple(args, "y*y*ndddw*w*", &means, &covs, &n, &dt, &pos_process, &vel_process,
                          &out_means, &out_covs))
        return NULL;
    PyObject *result = NULL;
    if (n < 0 || check_length(&means, n * 8 * (Py_ssize_t)sizeof(double), "means") ||
        check_length(&covs, n * 12 * (Py_ssize_t)sizeof(double), "covariances") ||
        check_length(&out_means, n * 8 * (Py_ssize_t)sizeof(double), "out means") ||
        check_length(&out_covs, n * 12 * (Py_ssize_t)sizeof(double), "out covariances"))
        goto done;
    const double *m = means.buf, *c = covs.buf;
    double *om = out_means.buf, *oc = out_covs.buf;
    for (Py_ssize_t i = 0; i < n; i++, m += 8, c += 12, om += 8, oc += 12) {
        const double h = at_least_one(m[3]);
        const double sp = pos_process * h, sv = vel_process * h;
        const double q_pp = sp * sp * dt, q_vv = sv * sv * dt;
        for (int j = 0; j < 4; j++) {
            const double pp = c[j], pv = c[4 + j], vv = c[8 + j];
            oc[j] = pp + dt * (2.0 * pv + dt * vv) + q_pp;
            oc[4 + j] = pv + dt * vv + 0.0;
            oc[8 + j] = vv + q_vv;
            om[j] = m[j] + dt * m[4 + j];
            om[4 + j] = m[4 + j];
        }
        om[2] = at_least_one(om[2]);
        om[3] = at_least_one(om[3]);
    }
    result = Py_NewRef(Py_None);
done:
    release_buffers(4, &means, &covs, &out_means, &out_covs);
    return result;
}

/* Correct the rows `rows` (distinct) of means / covariances in place with measured boxes (cx, cy, w, h). */
PyObject *vr_kalman_correct_rows(PyObject *self, PyObject *args) {
    Py_buffer means, covs, rows, boxes;
    Py_ssize_t n, k;
    double pos_measurement;
    if (!PyArg_ParseTuple(args, "w*w*ny*y*nd", &means, &covs, &n, &rows, &boxes, &k, &pos_measurement))
        return NULL;
    PyObject *result = NULL;
    if (n < 0 || k < 0 || check_length(&means, n * 8 * (Py_ssize_t)sizeof(double), "means") ||
        check_length(&covs, n * 12 * (Py_ssize_t)sizeof(double), "covariances") ||
        check_length(&rows, k * (Py_ssize_t)sizeof(int64_t), "rows") ||
        check_length(&boxes, k * 4 * (Py_ssize_t)sizeof(double), "boxes"))
        goto done;
    const int64_t *r = rows.buf;
    for (Py_ssize_t i = 0; i < k; i++) {
        if (r[i] < 0 || r[i] >= n) {
            PyErr_Format(PyExc_IndexError, "row %lld out of range for %zd tracks", (long long)r[i], n);
            goto done;
        }
    }
    const double *z = boxes.buf;
    for (Py_ssize_t i = 0; i < k; i++, z += 4) {
        double *m = (double *)means.buf + 8 * r[i], *c = (double *)covs.buf + 12 * r[i];
        const double h = at_least_one(m[3]);
        const double sr = pos_measurement * h, noise = sr * sr;
        double innovation[4];
        for (int j = 0; j < 4; j++) innovation[j] = z[j] - m[j];
        for (int j = 0; j < 4; j++) {
            const double pp = c[j], pv = c[4 + j], vv = c[8 + j];
            const double s = pp + noise, gain_pos = pp / s, gain_vel = pv / s;
            c[j] = pp - gain_pos * pp;
            c[4 + j] = pv - gain_pos * pv;
            c[8 + j] = vv - gain_vel * pv;
            m[j] = m[j] + gain_pos * innovation[j];
            m[4 + j] = m[4 + j] + gain_vel * innovation[j];
        }
    }
    result = Py_NewRef(Py_None);
done:
    release_buffers(4, &means, &covs, &rows, &boxes);
    return result;
}

/*
 * Association similarity (tracking/association.similarity_mask_box): box IoU of
 * every predicted track box with every detection box (overlap.box_iou_matrix's
 * arithmetic), then for each overlapping pair mask_weight * mask IoU +
 * (1 - mask_weight) * box IoU, where mask IoU is computed only when the pair
 * shares its track or detection with another overlapping pair or its box
 * term alone misses min_similarity, and taken equal to box IoU otherwise.
 * Tracks and detections are the tracker's objects: their .roi (x, y, width,
 * height), .mask (2-D bool, strided views accepted) and .area (int) are read
 * only for the pairs that need mask IoU.
 */
static double at_least_zero(double v) { return v < 0.0 ? 0.0 : v; }  /* np.maximum(v, 0): NaN stays */

/* np.minimum / np.maximum of two doubles: NaN if either is NaN. */
static double nan_min(double x, double y) { return x != x ? x : (y != y ? y : (x < y ? x : y)); }
static double nan_max(double x, double y) { return x != x ? x : (y != y ? y : (x > y ? x : y)); }

static int read_roi(PyObject *owner, long long out[4]) {
    static const char *names[4] = {"x", "y", "width", "height"};
    PyObject *roi = PyObject_GetAttrString(owner, "roi");
    if (roi == NULL) return -1;
    for (int k = 0; k < 4; k++) {
        PyObject *v = PyObject_GetAttrString(roi, names[k]);
        out[k] = v == NULL ? -1 : PyLong_AsLongLong(v);
        Py_XDECREF(v);
        if (v == NULL || (out[k] == -1 && PyErr_Occurred())) {
            Py_DECREF(roi);
            return -1;
        }
    }
    Py_DECREF(roi);
    return 0;
}

static int read_area(PyObject *owner, long long *area) {
    PyObject *v = PyObject_GetAttrString(owner, "area");
    if (v == NULL) return -1;
    *area = PyLong_AsLongLong(v);
    Py_DECREF(v);
    return (*area == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* Bytes set in both rows, 16 at a time: the compiler vectorises this loop only as a function of its own (inlined
 * into mask_intersection's row loop it stays scalar), which halves association's time on the sim's 10 objects. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static unsigned count_both_set(const unsigned char *a, const unsigned char *b, long n) {
    unsigned count = 0;  /* n is one row of a mask: no overflow */
    for (long x = 0; x < n; x++) count += (a[x] != 0) & (b[x] != 0);
    return count;
}

/* Pixels set in both masks over the overlap of their ROIs; -1 with an exception set on bad input. */
static long long mask_intersection(PyObject *a, PyObject *b) {
    long long ra[4], rb[4];
    if (read_roi(a, ra) || read_roi(b, rb)) return -1;
    const long long x0 = ra[0] > rb[0] ? ra[0] : rb[0], y0 = ra[1] > rb[1] ? ra[1] : rb[1];
    const long long x1 = ra[0] + ra[2] < rb[0] + rb[2] ? ra[0] + ra[2] : rb[0] + rb[2];
    const long long y1 = ra[1] + ra[3] < rb[1] + rb[3] ? ra[1] + ra[3] : rb[1] + rb[3];
    if (x0 >= x1 || y0 >= y1) return 0;
    PyObject *ma = PyObject_GetAttrString(a, "mask"), *mb = ma ? PyObject_GetAttrString(b, "mask") : NULL;
    Py_buffer va, vb;
    long long count = -1;
    if (mb == NULL) goto out;
    if (PyObject_GetBuffer(ma, &va, PyBUF_STRIDES) < 0) goto out;
    if (PyObject_GetBuffer(mb, &vb, PyBUF_STRIDES) < 0) {
        PyBuffer_Release(&va);
        goto out;
    }
    if (va.ndim != 2 || vb.ndim != 2 || va.itemsize != 1 || vb.itemsize != 1 ||
        va.shape[0] != ra[3] || va.shape[1] != ra[2] || vb.shape[0] != rb[3] || vb.shape[1] != rb[2]) {
        PyErr_SetString(PyExc_ValueError, "masks must be 2-D bool arrays the shape of their ROI");
    } else {
        count = 0;
        for (long long y = y0; y < y1; y++) {
            const char *pa = (const char *)va.buf + (y - ra[1]) * va.strides[0];
            const char *pb = (const char *)vb.buf + (y - rb[1]) * vb.strides[0];
            if (va.strides[1] == 1 && vb.strides[1] == 1) {
                count += count_both_set((const unsigned char *)pa + (x0 - ra[0]),
                                        (const unsigned char *)pb + (x0 - rb[0]), (long)(x1 - x0));
            } else {
                for (long long x = x0; x < x1; x++)
                    count += pa[(x - ra[0]) * va.strides[1]] && pb[(x - rb[0]) * vb.strides[1]];
            }
        }
    }
    PyBuffer_Release(&va);
    PyBuffer_Release(&vb);
out:
    Py_XDECREF(ma);
    Py_XDECREF(mb);
    return count;
}

PyObject *vr_similarity_mask_box(PyObject *self, PyObject *args) {
    Py_buffer pred, dets, out;
    Py_ssize_t n, m;
    double mask_weight, min_similarity;
    PyObject *tracks, *detections;
    if (!PyArg_ParseTuple(args, "y*y*nnddO!O!w*", &pred, &dets, &n, &m, &mask_weight, &min_similarity,
                          &PyList_Type, &tracks, &PyList_Type, &detections, &out))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t *per_row = NULL, *per_col = NULL;
    if (n < 0 || m < 0 || PyList_GET_SIZE(tracks) != n || PyList_GET_SIZE(detections) != m) {
        PyErr_SetString(PyExc_ValueError, "one track per predicted box, one detection per box");
        goto done;
    }
    if (check_length(&pred, n * 4 * (Py_ssize_t)sizeof(double), "predicted boxes") ||
        check_length(&dets, m * 4 * (Py_ssize_t)sizeof(double), "detection boxes") ||
        check_length(&out, n * m * (Py_ssize_t)sizeof(double), "out"))
        goto done;
    per_row = calloc(n + 1, sizeof(Py_ssize_t));
    per_col = calloc(m + 1, sizeof(Py_ssize_t));
    if (per_row == NULL || per_col == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const double *a = pred.buf, *b = dets.buf;
    double *sim = out.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double area_a = at_least_zero(a[4 * i + 2] - a[4 * i]) * at_least_zero(a[4 * i + 3] - a[4 * i + 1]);
        for (Py_ssize_t j = 0; j < m; j++) {
            const double *p = a + 4 * i, *q = b + 4 * j;
            const double w = at_least_zero(nan_min(p[2], q[2]) - nan_max(p[0], q[0]));
            const double h = at_least_zero(nan_min(p[3], q[3]) - nan_max(p[1], q[1]));
            const double area_b = at_least_zero(q[2] - q[0]) * at_least_zero(q[3] - q[1]);
            const double inter = w * h;
            const double iou = inter / (area_a + area_b - inter + 1e-9);
            sim[i * m + j] = iou;
            if (iou != 0.0) {  /* NaN counts as overlapping, as np.nonzero has it */
                per_row[i]++;
                per_col[j]++;
            }
        }
    }
    const double box_weight = 1.0 - mask_weight;
    for (Py_ssize_t i = 0; i < n; i++) {
        for (Py_ssize_t j = 0; j < m; j++) {
            const double box = sim[i * m + j];
            if (box == 0.0) continue;
            double mask = box;  /* stands in for mask IoU where that cannot change the matching */
            if (min_similarity <= 0 || per_row[i] > 1 || per_col[j] > 1 || box_weight * box < min_similarity) {
                PyObject *t = PyList_GET_ITEM(tracks, i), *d = PyList_GET_ITEM(detections, j);
                long long area_t, area_d;
                const long long inter = mask_intersection(t, d);
                if (inter < 0 || read_area(t, &area_t) || read_area(d, &area_d)) goto done;
                const long long uni = area_t + area_d - inter;
                mask = uni > 0 ? (double)inter / (double)uni : 0.0;
            }
            sim[i * m + j] = mask_weight * mask + box_weight * box;
        }
    }
    result = Py_NewRef(Py_None);
done:
    free(per_row);
    free(per_col);
    release_buffers(3, &pred, &dets, &out);
    return result;
}

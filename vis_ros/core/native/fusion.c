/* Depth fusion's per-instance points (core/fusion/fuse.py), in C. */
#include "kernels.h"

/* Hoare partition of a[lo..hi] around the median of three: returns j with a[lo..j] <= a[j+1..hi]. */
static Py_ssize_t partition_doubles(double *a, Py_ssize_t lo, Py_ssize_t hi) {
    const double x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi];
    const double pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    Py_ssize_t i = lo, j = hi;
    for (;;) {
        while (a[i] < pivot) i++;
        while (a[j] > pivot) j--;
        if (i >= j) return j;
        const double t = a[i]; a[i] = a[j]; a[j] = t;
        i++; j--;
    }
}

/* Sort doubles ascending (no NaN): quicksort, insertion sort below 16. qsort's comparison
   callback costs three times as much on the few hundred depths of one instance. */
static void sort_doubles(double *a, Py_ssize_t n) {
    while (n > 16) {
        const Py_ssize_t j = partition_doubles(a, 0, n - 1);
        /* recurse on the smaller side, loop on the larger */
        if (j + 1 < n - j - 1) { sort_doubles(a, j + 1); a += j + 1; n -= j + 1; }
        else { sort_doubles(a + j + 1, n - j - 1); n = j + 1; }
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        const double v = a[i];
        Py_ssize_t k = i;
        while (k > 0 && a[k - 1] > v) { a[k] = a[k - 1]; k--; }
        a[k] = v;
    }
}

/* The k-th smallest of a[0..n) (0-based; a is reordered): np.partition(a, k)[k]. */
static double select_double(double *a, Py_ssize_t n, Py_ssize_t k) {
    Py_ssize_t lo = 0, hi = n - 1;
    while (hi - lo > 16) {
        const Py_ssize_t j = partition_doubles(a, lo, hi);
        if (k <= j) hi = j; else lo = j + 1;
    }
    sort_doubles(a + lo, hi - lo + 1);
    return a[k];
}

/*
 * Depth fusion's per-instance points (core/fusion/fuse.py, `_masked_points`):
 * erode the mask (square kernel, zero border), take every stride-th set pixel
 * (row-major) up to max_points, read their depths (valid: float32 compare, as
 * numpy does with a Python float), keep the median band and the nearest
 * dominant depth cluster, back-project the kept pixels. Writes points
 * (float64, n x 3), their projections on the horizontal axes e1, e2 (float32,
 * n x 2) and on `up` (float64, n); returns (n, pixels before the band, eroded
 * px used, median depth, centroid x, y, z). n < min_points: nothing written
 * past the count.
 */
PyObject *vr_instance_points(PyObject *self, PyObject *args) {
    Py_buffer mask, depth, points_out, flat_out, heights_out;
    Py_ssize_t mh, mw, dh, dw, rx, ry, max_points, min_points;
    int erode_px, nearest_cluster;
    double cx, cy, fx, fy, min_depth, max_depth, mad_k, min_band, cluster_gap;
    double e1[3], e2[3], up[3];
    if (!PyArg_ParseTuple(args, "y*(nn)nny*(nn)(dddd)inndddddp(ddd)(ddd)(ddd)w*w*w*", &mask, &mh, &mw, &rx, &ry,
                          &depth, &dh, &dw, &cx, &cy, &fx, &fy, &erode_px, &max_points, &min_points, &min_depth,
                          &max_depth, &mad_k, &min_band, &cluster_gap, &nearest_cluster, &e1[0], &e1[1], &e1[2],
                          &e2[0], &e2[1], &e2[2], &up[0], &up[1], &up[2], &points_out, &flat_out, &heights_out))
        return NULL;
    PyObject *result = NULL;
    uint8_t *eroded = NULL;
    int32_t *rowrun = NULL;
    Py_ssize_t *picked_u = NULL, *picked_v = NULL;
    double *z = NULL, *order = NULL;
    if (check_length(&mask, mh * mw, "mask") < 0 || check_length(&depth, dh * dw * 4, "depth") < 0 ||
        check_length(&points_out, max_points * 3 * 8, "points") < 0 ||
        check_length(&flat_out, max_points * 2 * 4, "flat") < 0 ||
        check_length(&heights_out, max_points * 8, "heights") < 0)
        goto done;
    if (rx < 0 || ry < 0 || rx + mw > dw || ry + mh > dh) {
        PyErr_Format(PyExc_ValueError, "roi %zdx%zd at (%zd, %zd) leaves the %zdx%zd depth image", mw, mh, rx, ry,
                     dw, dh);
        goto done;
    }
    const uint8_t *m = mask.buf;
    const float *d = depth.buf;
    const uint8_t *use = m;
    Py_ssize_t set = 0;
    for (Py_ssize_t i = 0; i < mh * mw; i++) set += m[i] != 0;
    int eroded_px = 0;
    if (erode_px > 0 && (mh < mw ? mh : mw) > 2 * erode_px + 2) {
        /* Binary erosion with a zero border: a pixel survives when the (2e+1)^2 square around it is
           inside the ROI and all set. Row by row: the run of set pixels ending at each column, then
           per column the count of consecutive rows whose horizontal window is all set. */
        eroded = calloc((size_t)(mh * mw), 1);
        rowrun = malloc(sizeof(int32_t) * (size_t)(2 * mw));
        if (eroded == NULL || rowrun == NULL) { PyErr_NoMemory(); goto done; }
        int32_t *run = rowrun, *col = rowrun + mw;
        const Py_ssize_t e = erode_px, side = 2 * erode_px + 1;
        memset(col, 0, sizeof(int32_t) * (size_t)mw);
        Py_ssize_t kept = 0;
        for (Py_ssize_t y = 0; y < mh; y++) {
            const uint8_t *row = m + y * mw;
            int32_t r = 0;
            for (Py_ssize_t x = 0; x < mw; x++) {
                r = row[x] ? r + 1 : 0;
                run[x] = r;
            }
            uint8_t *out = eroded + (y - e) * mw;
            for (Py_ssize_t x = e; x < mw - e; x++) {
                col[x] = run[x + e] >= side ? col[x] + 1 : 0;
                if (col[x] >= side && y - e >= e) {
                    out[x] = 1;
                    kept++;
                }
            }
        }
        if (kept >= min_points) {
            use = eroded;
            set = kept;
            eroded_px = erode_px;
        }
    }
    Py_ssize_t stride = 1;
    if (set > max_points) stride = (Py_ssize_t)ceil((double)set / (double)max_points);
    const Py_ssize_t wanted = set == 0 ? 0 : (set + stride - 1) / stride;
    picked_u = malloc(sizeof(Py_ssize_t) * (size_t)(wanted + 1));
    picked_v = malloc(sizeof(Py_ssize_t) * (size_t)(wanted + 1));
    z = malloc(sizeof(double) * (size_t)(wanted + 1));
    order = malloc(sizeof(double) * (size_t)(wanted + 1));
    if (picked_u == NULL || picked_v == NULL || z == NULL || order == NULL) { PyErr_NoMemory(); goto done; }
    Py_ssize_t n = 0, skip = 0;  /* every stride-th set pixel: index % stride == 0, without a division */
    const float lo = (float)min_depth, hi = (float)max_depth;
    for (Py_ssize_t y = 0; y < mh; y++) {
        const uint8_t *row = use + y * mw;
        for (Py_ssize_t x = 0; x < mw; x++) {
            if (!row[x]) continue;
            if (skip) { skip--; continue; }
            skip = stride - 1;
            const Py_ssize_t u = x + rx, v = y + ry;
            const float value = d[v * dw + u];
            if (value > lo && value < hi) {
                picked_u[n] = u;
                picked_v[n] = v;
                z[n++] = (double)value;
            }
        }
    }
    const Py_ssize_t valid = n;
    double median = 0.0, sx = 0.0, sy = 0.0, sz = 0.0;
    if (n >= min_points) {
        memcpy(order, z, sizeof(double) * (size_t)n);
        sort_doubles(order, n);
        median = order[n / 2];
        double *dev = malloc(sizeof(double) * (size_t)n);
        if (dev == NULL) { PyErr_NoMemory(); goto done; }
        for (Py_ssize_t i = 0; i < n; i++) dev[i] = fabs(z[i] - median);
        const double mad = select_double(dev, n, n / 2) * 1.4826;
        free(dev);
        const double band = mad_k * mad > min_band ? mad_k * mad : min_band;
        double z_low = -INFINITY, z_high = INFINITY;
        if (nearest_cluster && n > 1 && order[n - 1] - order[0] > cluster_gap) {
            Py_ssize_t start = 0;
            for (Py_ssize_t i = 1; i <= n; i++) {
                if (i == n || order[i] - order[i - 1] > cluster_gap) {
                    if (i == n && start == 0) break;  /* no gap at all: one cluster, nothing to cut */
                    if ((double)(i - start) >= 0.25 * (double)n) {
                        z_low = order[start];
                        z_high = order[i - 1];
                        break;
                    }
                    start = i;
                }
            }
        }
        double *pts = points_out.buf, *hts = heights_out.buf;
        float *flat = flat_out.buf;
        Py_ssize_t k = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!(fabs(z[i] - median) <= band) || z[i] < z_low || z[i] > z_high) continue;
            const double px = ((double)picked_u[i] - cx) * z[i] / fx, py = ((double)picked_v[i] - cy) * z[i] / fy;
            const double pz = z[i];
            pts[3 * k] = px; pts[3 * k + 1] = py; pts[3 * k + 2] = pz;
            flat[2 * k] = (float)(px * e1[0] + py * e1[1] + pz * e1[2]);
            flat[2 * k + 1] = (float)(px * e2[0] + py * e2[1] + pz * e2[2]);
            hts[k] = px * up[0] + py * up[1] + pz * up[2];
            sx += px; sy += py; sz += pz;
            k++;
        }
        n = k;
    }
    if (n > 0) { sx /= (double)n; sy /= (double)n; sz /= (double)n; }
    result = Py_BuildValue("(nnidddd)", n, valid, eroded_px, median, sx, sy, sz);
done:
    free(eroded);
    free(rowrun);
    free(picked_u);
    free(picked_v);
    free(z);
    free(order);
    release_buffers(5, &mask, &depth, &points_out, &flat_out, &heights_out);
    return result;
}

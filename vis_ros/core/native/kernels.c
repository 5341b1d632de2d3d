/*
 * The per-frame, per-instance work of the node, in C.
 *
 * Every frame the node selects detections, builds a mask per instance,
 * predicts and corrects a Kalman state per track, scores track-detection
 * pairs for association, moves masks by optical flow between keyframes,
 * run-length codes each published mask, and (with depth) turns each mask into
 * its kept 3D points. In numpy that is dozens of calls on
 * small arrays, so the cost is the calls' fixed overhead, paid on caches the
 * engine has just flushed: about 0.4 ms of a 30 Hz frame here for the decoder
 * alone, against well under 0.1 ms of arithmetic. These functions do the same work in one call per frame (or per
 * mask, for run lengths). vis_ros/core/native/__init__.py documents the
 * Python side; the numpy / OpenCV implementations stay as the fallback and as
 * the reference the tests hold these to.
 *
 * Only the buffer protocol is used (no numpy C API): callers pass contiguous
 * arrays (the association reads the tracker's objects, strided masks
 * included) and, except for the moved masks (whose size only the kernel
 * learns), the arrays results go into; every buffer's length is checked
 * against the call's sizes before anything is read or written.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long clamp_long(long v, long lo, long hi) { return v < lo ? lo : (v > hi ? hi : v); }

static double clamp_double(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* np.maximum(v, 1.0): NaN stays NaN. */
static double at_least_one(double v) { return v < 1.0 ? 1.0 : v; }

/* Release the argument buffers a call parsed (count of them, then their addresses). */
static void release_buffers(int count, ...) {
    va_list buffers;
    va_start(buffers, count);
    for (int i = 0; i < count; i++) PyBuffer_Release(va_arg(buffers, Py_buffer *));
    va_end(buffers);
}

static int check_length(const Py_buffer *b, Py_ssize_t needed, const char *name) {
    if (b->len < needed) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, needs %zd", name, b->len, needed);
        return -1;
    }
    return 0;
}

/*
 * One mask: sigmoid(coefficients . prototypes) on the prototype cells under the
 * ROI, bilinearly resampled at every ROI pixel centre (edges replicated),
 * thresholded. The sampling grid is axis-aligned, so the bilinear weights are
 * separable: each mask row is one blend of two cell rows, then one blend per
 * pixel. Returns the number of pixels set.
 */
static int64_t one_mask(const float *protos, Py_ssize_t nm, Py_ssize_t ph, Py_ssize_t pw, const float *coef,
                        int64_t left, int64_t top, int64_t width, int64_t height, double step,
                        double offset_x, double offset_y, float threshold, uint8_t *mask,
                        float *cells, float *row, float *col_weight, int32_t *run_cells, int32_t *run_start) {
    /* Prototype coordinate of pixel column u (pixel-centre convention):
     * p = ((u + 0.5) * scale + pad_x) / 4 - 0.5 = (u + 0.5) * step + offset_x. */
    const double px_first = (left + 0.5) * step + offset_x, py_first = (top + 0.5) * step + offset_y;
    /* Clamped as doubles first: converting an out-of-range double to long is undefined. */
    const long cx0 = (long)clamp_double(floor(px_first), 0.0, (double)(pw - 1));
    const long cy0 = (long)clamp_double(floor(py_first), 0.0, (double)(ph - 1));
    const long cx1 = (long)clamp_double(floor(px_first + (width - 1) * step) + 2, (double)(cx0 + 1), (double)pw);
    const long cy1 = (long)clamp_double(floor(py_first + (height - 1) * step) + 2, (double)(cy0 + 1), (double)ph);
    const long cw = cx1 - cx0, ch = cy1 - cy0;

    for (long i = 0; i < ch * cw; i++) cells[i] = 0.0f;
    for (Py_ssize_t c = 0; c < nm; c++) {
        const float k = coef[c];
        const float *plane = protos + c * ph * pw;
        for (long y = 0; y < ch; y++) {
            const float *src = plane + (cy0 + y) * pw + cx0;
            float *dst = cells + y * cw;
            for (long x = 0; x < cw; x++) dst[x] += k * src[x];
        }
    }
    for (long i = 0; i < ch * cw; i++) cells[i] = 1.0f / (1.0f + expf(-cells[i]));

    /* Columns fall into runs that share their two cells (8 pixels per cell at
     * 640x480): per run, the blend weight is the only thing that varies, so the
     * inner loop is a straight multiply-add-compare the compiler vectorises. */
    long runs = 0;
    for (int64_t u = 0; u < width; u++) {
        const double p = clamp_double(px_first + u * step, 0.0, (double)(pw - 1));
        const long x = (long)p;  /* p >= 0: truncation is floor */
        const int32_t left_cell = (int32_t)clamp_long(x - cx0, 0, cw - 1);
        if (u == 0 || left_cell != run_cells[2 * (runs - 1)]) {
            run_cells[2 * runs] = left_cell;
            run_cells[2 * runs + 1] = (int32_t)clamp_long(x + 1 - cx0, 0, cw - 1);
            run_start[runs++] = (int32_t)u;
        }
        col_weight[u] = (float)(p - x);
    }
    run_start[runs] = (int32_t)width;
    int64_t area = 0;
    for (int64_t v = 0; v < height; v++) {
        const double q = clamp_double(py_first + v * step, 0.0, (double)(ph - 1));
        const long y = (long)q;
        const float fy = (float)(q - y);
        const float *a = cells + clamp_long(y - cy0, 0, ch - 1) * cw;
        const float *b = cells + clamp_long(y + 1 - cy0, 0, ch - 1) * cw;
        for (long x = 0; x < cw; x++) row[x] = a[x] + fy * (b[x] - a[x]);
        uint8_t *out = mask + v * width;
        for (long k = 0; k < runs; k++) {
            const float l = row[run_cells[2 * k]], d = row[run_cells[2 * k + 1]] - l;
            for (int32_t u = run_start[k]; u < run_start[k + 1]; u++)
                out[u] = (l + col_weight[u] * d) > threshold;
        }
        for (int64_t u = 0; u < width; u++) area += out[u];
    }
    return area;
}

static PyObject *build_masks(PyObject *self, PyObject *args) {
    Py_buffer protos, coefs, rois, out, areas;
    Py_ssize_t nm, ph, pw, count;
    double step, offset_x, offset_y, threshold;
    if (!PyArg_ParseTuple(args, "y*(nnn)y*y*nddddw*w*", &protos, &nm, &ph, &pw, &coefs, &rois, &count,
                          &step, &offset_x, &offset_y, &threshold, &out, &areas))
        return NULL;
    PyObject *result = NULL;
    float *scratch = NULL;
    int32_t *runs = NULL;
    const int64_t *r = rois.buf;
    Py_ssize_t pixels = 0, widest = 0;
    if (nm <= 0 || ph <= 0 || pw <= 0 || count < 0 || !(step > 0.0)) {
        PyErr_SetString(PyExc_ValueError, "prototype shape and step must be positive, count >= 0");
        goto done;
    }
    if (check_length(&protos, nm * ph * pw * (Py_ssize_t)sizeof(float), "prototypes") ||
        check_length(&coefs, count * nm * (Py_ssize_t)sizeof(float), "coefficients") ||
        check_length(&rois, count * 4 * (Py_ssize_t)sizeof(int64_t), "rois") ||
        check_length(&areas, count * (Py_ssize_t)sizeof(int64_t), "areas"))
        goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        const int64_t w = r[4 * i + 2] - r[4 * i], h = r[4 * i + 3] - r[4 * i + 1];
        if (w > 0 && h > 0) {
            pixels += w * h;
            if (w > widest) widest = w;
        }
    }
    if (check_length(&out, pixels, "out"))
        goto done;
    scratch = malloc(sizeof(float) * (ph * pw + pw + widest + 1));
    runs = malloc(sizeof(int32_t) * 3 * (widest + 1));  /* two cells and a start per run of columns */
    if (scratch == NULL || runs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    uint8_t *mask = out.buf;
    int64_t *area = areas.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        const int64_t w = r[4 * i + 2] - r[4 * i], h = r[4 * i + 3] - r[4 * i + 1];
        if (w <= 0 || h <= 0) {
            area[i] = 0;
            continue;
        }
        area[i] = one_mask(protos.buf, nm, ph, pw, (const float *)coefs.buf + i * nm, r[4 * i], r[4 * i + 1],
                           w, h, step, offset_x, offset_y, (float)threshold, mask, scratch,
                           scratch + ph * pw, scratch + ph * pw + pw, runs, runs + 2 * (widest + 1));
        mask += w * h;
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(pixels);
done:
    free(scratch);
    free(runs);
    release_buffers(5, &protos, &coefs, &rois, &out, &areas);
    return result;
}

/*
 * Score filter + NMS + box conversion for one image's detection tensor: the
 * work of decoder.select_detections, Letterbox.boxes_to_source and
 * decoder._pixel_rois, with the same arithmetic (float32 where numpy works in
 * float32, double where it works in double) and cv2.dnn.NMSBoxes' semantics:
 * candidates sorted by score, ties keeping anchor order (stable), the first
 * `max_detections` considered, a box kept when its IoU with every kept box
 * (as a float) is <= nms_iou.
 */
typedef struct {
    float score;
    int64_t anchor;
    int64_t cls;
    double x, y, w, h;  /* top-left and size */
    double nms_x;       /* x as NMS sees it: class-aware NMS shifts each class 8192 px apart */
} Candidate;

static int by_score_then_anchor(const void *pa, const void *pb) {
    const Candidate *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->anchor < b->anchor ? -1 : (a->anchor > b->anchor);
}

/* IoU as cv2.dnn.NMSBoxes computes it for Rect2d: 1 - (float)(1 - IoU in double), on nms_x. */
static float box_overlap(const Candidate *a, const Candidate *b) {
    const double area_a = a->w * a->h, area_b = b->w * b->h;
    if (area_a + area_b <= 2.220446049250313e-16) return 1.0f;  /* two empty boxes: identical */
    const double x0 = a->nms_x > b->nms_x ? a->nms_x : b->nms_x, y0 = a->y > b->y ? a->y : b->y;
    const double x1 = a->nms_x + a->w < b->nms_x + b->w ? a->nms_x + a->w : b->nms_x + b->w;
    const double y1 = a->y + a->h < b->y + b->h ? a->y + a->h : b->y + b->h;
    const double inter = (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0.0;
    return 1.0f - (float)(1.0 - inter / (area_a + area_b - inter));
}

static PyObject *select_detections(PyObject *self, PyObject *args) {
    Py_buffer raw, anchors_out, boxes_out, scores_out, classes_out, rois_out, coefs_out;
    Py_ssize_t rows, count, nc, max_det;
    double threshold_d, nms_iou_d, scale_d, pad_x_d, pad_y_d, source_w_d, source_h_d;
    int agnostic;
    if (!PyArg_ParseTuple(args, "y*(nn)nddpn(ddddd)w*w*w*w*w*w*", &raw, &rows, &count, &nc, &threshold_d,
                          &nms_iou_d, &agnostic, &max_det, &scale_d, &pad_x_d, &pad_y_d, &source_w_d,
                          &source_h_d, &anchors_out, &boxes_out, &scores_out, &classes_out, &rois_out,
                          &coefs_out))
        return NULL;
    PyObject *result = NULL;
    Candidate *cands = NULL;
    Py_ssize_t *kept = NULL;
    const Py_ssize_t nm = rows - 4 - nc;
    if (nc <= 0 || nm < 0 || count < 0 || max_det <= 0) {
        PyErr_SetString(PyExc_ValueError, "need nc > 0, rows >= 4 + nc, count >= 0, max_detections > 0");
        goto done;
    }
    if (check_length(&raw, rows * count * (Py_ssize_t)sizeof(float), "raw") ||
        check_length(&anchors_out, max_det * (Py_ssize_t)sizeof(int64_t), "anchors") ||
        check_length(&boxes_out, max_det * 4 * (Py_ssize_t)sizeof(float), "boxes") ||
        check_length(&scores_out, max_det * (Py_ssize_t)sizeof(float), "scores") ||
        check_length(&classes_out, max_det * (Py_ssize_t)sizeof(int64_t), "classes") ||
        check_length(&rois_out, max_det * 4 * (Py_ssize_t)sizeof(int64_t), "rois") ||
        check_length(&coefs_out, max_det * nm * (Py_ssize_t)sizeof(float), "coefficients"))
        goto done;
    const float *r = raw.buf;
    const float threshold = (float)threshold_d, nms_iou = (float)nms_iou_d;
    Py_ssize_t n = 0, k = 0;
    cands = malloc(sizeof(Candidate) * (count ? count : 1));
    kept = malloc(sizeof(Py_ssize_t) * max_det);
    if (cands == NULL || kept == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t a = 0; a < count; a++) {
        float best = r[4 * count + a];
        int64_t cls = 0;
        int nan = best != best;
        for (Py_ssize_t c = 1; c < nc && !nan; c++) {
            const float v = r[(4 + c) * count + a];
            if (v != v) nan = 1;
            else if (v > best) { best = v; cls = c; }
        }
        if (nan || !(best > threshold)) continue;  /* numpy's max is NaN then: never a candidate */
        Candidate *cd = &cands[n++];
        const double cx = r[a], cy = r[count + a], w = r[2 * count + a], h = r[3 * count + a];
        cd->score = best;
        cd->anchor = a;
        cd->cls = cls;
        cd->x = cx - w / 2;
        cd->nms_x = agnostic ? cd->x : cd->x + (double)cls * 8192.0;
        cd->y = cy - h / 2;
        cd->w = w;
        cd->h = h;
    }
    qsort(cands, n, sizeof(Candidate), by_score_then_anchor);
    if (n > max_det) n = max_det;
    for (Py_ssize_t i = 0; i < n && k < max_det; i++) {
        int keep = 1;
        for (Py_ssize_t j = 0; j < k && keep; j++) {
            keep = box_overlap(&cands[i], &cands[kept[j]]) <= nms_iou;
        }
        if (keep) kept[k++] = i;
    }
    int64_t *anchors = anchors_out.buf, *classes = classes_out.buf, *rois = rois_out.buf;
    float *boxes = boxes_out.buf, *scores = scores_out.buf, *coefs = coefs_out.buf;
    const float scale = (float)scale_d, pad[4] = {(float)pad_x_d, (float)pad_y_d, (float)pad_x_d, (float)pad_y_d};
    const float limit[4] = {(float)source_w_d, (float)source_h_d, (float)source_w_d, (float)source_h_d};
    for (Py_ssize_t i = 0; i < k; i++) {
        const Candidate *cd = &cands[kept[i]];
        anchors[i] = cd->anchor;
        scores[i] = cd->score;
        classes[i] = cd->cls;
        const float input_box[4] = {(float)cd->x, (float)cd->y, (float)(cd->x + cd->w), (float)(cd->y + cd->h)};
        for (int j = 0; j < 4; j++) {
            float v = (input_box[j] - pad[j]) / scale;
            v = v > 0.0f ? v : 0.0f;  /* np.maximum(out, 0) then np.minimum(out, source size) */
            v = v < limit[j] ? v : limit[j];
            boxes[4 * i + j] = v;
            rois[4 * i + j] = j < 2 ? (int64_t)ceil((double)v - 0.5) : (int64_t)floor((double)v - 0.5) + 1;
        }
        for (Py_ssize_t c = 0; c < nm; c++) coefs[i * nm + c] = r[(4 + nc + c) * count + cd->anchor];
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(k);
done:
    free(cands);
    free(kept);
    release_buffers(7, &raw, &anchors_out, &boxes_out, &scores_out, &classes_out, &rois_out, &coefs_out);
    return result;
}

/*
 * The box tracker's constant-velocity Kalman filter (tracking/kalman.py):
 * state rows [cx, cy, w, h, vcx, vcy, vw, vh], covariance rows (3, 4) of
 * [position variance, position-velocity covariance, velocity variance] per
 * coordinate. The expressions are kalman.py's and constant_velocity.py's,
 * evaluated in the same order in double, so the results are the same bits.
 */
static PyObject *kalman_predict(PyObject *self, PyObject *args) {
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
static PyObject *kalman_correct_rows(PyObject *self, PyObject *args) {
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
 * Masks moved by backward optical flow (propagation.warp_mask): new(X) =
 * old(X + flow(X)), flow bilinearly upsampled from the 1/scale field (edges
 * clamped), the mask sampled bilinearly (outside it: 0) and rounded, over the
 * mask's box grown by its largest flow. OpenCV's remap quantises sample
 * positions to 1/32 pixel; this samples exactly, so edge pixels can differ
 * (test_propagation.py bounds how many).
 *
 * Per mask: (x, y, width, height, mask bytes (height * width, 0/1), pixels set)
 * of the bounding box of the moved mask; width 0 when nothing is left.
 */
/* Bilinear sampling of the low-res field at full-res pixel centres, one axis:
 * low-res coordinate (i + 0.5) / scale - 0.5 clamped to the grid (what resizing
 * the field gives), as two cell indices and the weight of the second. */
static void axis_taps(long first, long n, Py_ssize_t scale, long low_n, int32_t *lo, int32_t *hi, float *weight) {
    for (long i = 0; i < n; i++) {
        const double g = clamp_double((first + i + 0.5) / scale - 0.5, 0.0, (double)(low_n - 1));
        const long c = (long)g;
        lo[i] = (int32_t)c;
        hi[i] = (int32_t)(c + 1 < low_n ? c + 1 : c);
        weight[i] = (float)(g - c);
    }
}

static PyObject *warp_masks(PyObject *self, PyObject *args) {
    Py_buffer flow_buf, rois_buf;
    Py_ssize_t low_h, low_w, scale, height, width, count;
    PyObject *masks;
    if (!PyArg_ParseTuple(args, "y*(nn)n(nn)y*nO!", &flow_buf, &low_h, &low_w, &scale, &height, &width,
                          &rois_buf, &count, &PyList_Type, &masks))
        return NULL;
    PyObject *result = NULL, *out = NULL;
    uint8_t *scratch = NULL;
    float *padded = NULL;
    int32_t *taps = NULL;
    float *row_flow = NULL;
    if (low_h <= 0 || low_w <= 0 || scale <= 0 || height <= 0 || width <= 0 || count < 0 ||
        PyList_GET_SIZE(masks) != count) {
        PyErr_SetString(PyExc_ValueError, "flow and image sizes must be positive, one mask per roi");
        goto done;
    }
    if (check_length(&flow_buf, low_h * low_w * 2 * (Py_ssize_t)sizeof(float), "flow") ||
        check_length(&rois_buf, count * 4 * (Py_ssize_t)sizeof(int64_t), "rois"))
        goto done;
    out = PyList_New(count);
    scratch = malloc((size_t)height * width);  /* the moved mask's region */
    padded = malloc(sizeof(float) * (size_t)(height + 2) * (width + 2));  /* a mask (0 / 1) with a zero border */
    taps = malloc(sizeof(int32_t) * 3 * (size_t)width);  /* per region column: two cells, one weight */
    row_flow = malloc(sizeof(float) * 2 * (size_t)(low_w + 1));  /* one row of the field, blended */
    if (out == NULL || scratch == NULL || padded == NULL || taps == NULL || row_flow == NULL) {
        if (out != NULL) PyErr_NoMemory();
        goto done;
    }
    int32_t *col_lo = taps, *col_hi = taps + width;
    float *col_w = (float *)(taps + 2 * width);
    const float *flow = flow_buf.buf;
    const int64_t *rois = rois_buf.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        const int64_t rx = rois[4 * i], ry = rois[4 * i + 1], rw = rois[4 * i + 2], rh = rois[4 * i + 3];
        Py_buffer m;
        if (PyObject_GetBuffer(PyList_GET_ITEM(masks, i), &m, PyBUF_C_CONTIGUOUS) < 0) goto done;
        if (rw < 0 || rh < 0 || rx < 0 || ry < 0 || rx + rw > width || ry + rh > height || m.len != rw * rh) {
            PyBuffer_Release(&m);
            PyErr_Format(PyExc_ValueError, "mask %zd: roi (%lld, %lld, %lld, %lld) does not fit the image or"
                         " its %zd-byte mask", i, (long long)rx, (long long)ry, (long long)rw, (long long)rh, m.len);
            goto done;
        }
        const uint8_t *mask = m.buf;
        /* Largest |flow| over the mask's low-res cells: how far the mask can have come from. */
        double largest = 0.0;
        const long lx0 = rx / scale, ly0 = ry / scale;
        const long lx1 = (long)((rx + rw + scale - 1) / scale), ly1 = (long)((ry + rh + scale - 1) / scale);
        for (long y = ly0; y < ly1 && y < low_h; y++)
            for (long x = lx0; x < lx1 && x < low_w; x++)
                for (int c = 0; c < 2; c++) {
                    const double v = fabs(flow[(y * low_w + x) * 2 + c]);
                    if (v > largest) largest = v;
                }
        /* Flow longer than the image moves the mask out of it anyway (and may be inf). */
        const long reach = (long)clamp_double(ceil((float)largest), 0.0, (double)(width + height)) + 2;
        const long x0 = rx - reach > 0 ? (long)rx - reach : 0, y0 = ry - reach > 0 ? (long)ry - reach : 0;
        const long x1 = rx + rw + reach < width ? (long)(rx + rw) + reach : (long)width;
        const long y1 = ry + rh + reach < height ? (long)(ry + rh) + reach : (long)height;
        const long w = x1 - x0, h = y1 - y0;
        long bx0 = w, by0 = h, bx1 = -1, by1 = -1;
        /* The mask with a zero border, so every bilinear tap can be read without a bounds test. */
        const long pw = rw + 2;
        for (long x = 0; x < pw; x++) padded[x] = padded[(rh + 1) * pw + x] = 0.0f;
        for (long y = 1; y <= rh; y++) {
            float *row = padded + y * pw;
            const uint8_t *src = mask + (y - 1) * rw;
            row[0] = row[rw + 1] = 0.0f;
            for (long x = 0; x < rw; x++) row[x + 1] = src[x] ? 1.0f : 0.0f;
        }
        axis_taps(x0, w, scale, low_w, col_lo, col_hi, col_w);
        const int32_t cell_first = col_lo[0], cells = col_hi[w - 1] - cell_first + 1;
        for (long y = 0; y < h; y++) {
            int32_t row_lo, row_hi;
            float fy;
            axis_taps(y0 + y, 1, scale, low_h, &row_lo, &row_hi, &fy);
            /* This row of the field at low-res columns first (vertical blend), then per pixel. */
            const float *top = flow + ((size_t)row_lo * low_w + cell_first) * 2;
            const float *bottom = flow + ((size_t)row_hi * low_w + cell_first) * 2;
            for (int32_t c = 0; c < 2 * cells; c++) row_flow[c] = top[c] + fy * (bottom[c] - top[c]);
            const float dy_pixel = (float)(y0 + y - ry) + 1.0f;  /* +1: the padded mask's origin */
            for (long x = 0; x < w; x++) {
                const int32_t a = 2 * (col_lo[x] - cell_first), b = 2 * (col_hi[x] - cell_first);
                const float fx = col_w[x];
                /* Sample position in the padded mask's pixels (float32, as the numpy path adds). */
                const float u = (float)(x0 + x - rx) + 1.0f + (row_flow[a] + fx * (row_flow[b] - row_flow[a]));
                const float v = dy_pixel + (row_flow[a + 1] + fx * (row_flow[b + 1] - row_flow[a + 1]));
                uint8_t on = 0;
                if (u >= 0.0f && v >= 0.0f && u < (float)(rw + 1) && v < (float)(rh + 1)) {
                    const long ux = (long)u, vy = (long)v;  /* >= 0: truncation is floor */
                    const float fu = u - ux, fv = v - vy;  /* weights, needed only on the mask's edge */
                    const float *p0 = padded + vy * pw + ux, *p1 = p0 + pw;
                    const float taps = p0[0] + p0[1] + p1[0] + p1[1];
                    if (taps == 4.0f) {
                        on = 1;  /* inside the mask: every blend is 1 */
                    } else if (taps > 0.0f) {
                        const float value = (1.0f - fv) * ((1.0f - fu) * p0[0] + fu * p0[1]) +
                                            fv * ((1.0f - fu) * p1[0] + fu * p1[1]);
                        on = value >= 0.5f;
                    }
                }
                scratch[y * w + x] = on;
                if (on) {
                    if (x < bx0) bx0 = x;
                    if (x > bx1) bx1 = x;
                    if (y < by0) by0 = y;
                    if (y > by1) by1 = y;
                }
            }
        }
        PyBuffer_Release(&m);
        PyObject *item;
        if (bx1 < 0) {
            item = Py_BuildValue("(nnnny#n)", (Py_ssize_t)x0, (Py_ssize_t)y0, (Py_ssize_t)0, (Py_ssize_t)0, "",
                                 (Py_ssize_t)0, (Py_ssize_t)0);
        } else {
            const long bw = bx1 - bx0 + 1, bh = by1 - by0 + 1;
            PyObject *bytes = PyByteArray_FromStringAndSize(NULL, bw * bh);
            if (bytes == NULL) goto done;
            uint8_t *dst = (uint8_t *)PyByteArray_AS_STRING(bytes);
            Py_ssize_t area = 0;
            for (long y = 0; y < bh; y++)
                for (long x = 0; x < bw; x++) {
                    const uint8_t on = scratch[(by0 + y) * w + bx0 + x];
                    dst[y * bw + x] = on;
                    area += on;
                }
            item = Py_BuildValue("(nnnnNn)", (Py_ssize_t)(x0 + bx0), (Py_ssize_t)(y0 + by0), (Py_ssize_t)bw,
                                 (Py_ssize_t)bh, bytes, area);
        }
        if (item == NULL) goto done;
        PyList_SET_ITEM(out, i, item);
    }
    result = out;
    out = NULL;
done:
    Py_XDECREF(out);
    free(scratch);
    free(padded);
    free(taps);
    free(row_flow);
    release_buffers(2, &flow_buf, &rois_buf);
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
            for (long long x = x0; x < x1; x++)
                count += pa[(x - ra[0]) * va.strides[1]] && pb[(x - rb[0]) * vb.strides[1]];
        }
    }
    PyBuffer_Release(&va);
    PyBuffer_Release(&vb);
out:
    Py_XDECREF(ma);
    Py_XDECREF(mb);
    return count;
}

static PyObject *similarity_mask_box(PyObject *self, PyObject *args) {
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

/* Run lengths (background first) of a C-contiguous bool mask, as little-endian uint32 bytes. */
static PyObject *encode_runs(PyObject *self, PyObject *arg) {
    Py_buffer m;
    if (PyObject_GetBuffer(arg, &m, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    const uint8_t *p = m.buf;
    const Py_ssize_t n = m.len;
    Py_ssize_t runs = 0;
    if (n > 0) {
        runs = 1 + (p[0] != 0);
        for (Py_ssize_t i = 1; i < n; i++) runs += (p[i] != 0) != (p[i - 1] != 0);
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, runs * 4);
    if (result != NULL && n > 0) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(result);
        int current = 0;
        uint32_t length = 0;
        for (Py_ssize_t i = 0; i <= n; i++) {
            if (i == n || (p[i] != 0) != current) {
                o[0] = length & 0xff; o[1] = (length >> 8) & 0xff;  /* little-endian on any host */
                o[2] = (length >> 16) & 0xff; o[3] = length >> 24;
                o += 4;
                length = 0;
                current = !current;
            }
            length++;
        }
    }
    PyBuffer_Release(&m);
    return result;
}

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
static PyObject *instance_points(PyObject *self, PyObject *args) {
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

static PyMethodDef kernel_methods[] = {
    {"build_masks", build_masks, METH_VARARGS,
     "build_masks(prototypes, (nm, ph, pw), coefficients, rois, count, step, offset_x, offset_y, threshold,"
     " out, areas) -> pixels written\n\n"
     "prototypes: float32 (nm, ph, pw); coefficients: float32 (count, nm); rois: int64 (count, 4)"
     " left, top, right, bottom; out: bool, every non-empty ROI's mask row-major, one after another;"
     " areas: int64 (count,) pixels set per mask."},
    {"select_detections", select_detections, METH_VARARGS,
     "select_detections(raw, (rows, anchors), nc, score_threshold, nms_iou, class_agnostic, max_detections,"
     " (scale, pad_x, pad_y, source_width, source_height), anchors, boxes, scores, classes, rois,"
     " coefficients) -> K\n\n"
     "raw: float32 (4 + nc + nm, anchors); outputs hold max_detections rows, the first K are written:"
     " anchors int64, boxes float32 (x0, y0, x1, y1) in source pixels, scores float32, classes int64,"
     " rois int64 (left, top, right, bottom), coefficients float32 (nm per row)."},
    {"kalman_predict", kalman_predict, METH_VARARGS,
     "kalman_predict(means, covariances, n, dt, pos_process, vel_process, out_means, out_covariances):"
     " tracking.kalman.predict with a scalar dt; float64 (n, 8) and (n, 3, 4)."},
    {"kalman_correct_rows", kalman_correct_rows, METH_VARARGS,
     "kalman_correct_rows(means, covariances, n, rows, boxes_cxcywh, k, pos_measurement): tracking.kalman.update"
     " of the k rows `rows` (int64), in place; boxes float64 (k, 4)."},
    {"warp_masks", warp_masks, METH_VARARGS,
     "warp_masks(flow, (low_h, low_w), scale, (height, width), rois, count, masks) -> list of"
     " (x, y, width, height, mask bytearray, pixels set)\n\n"
     "flow: float32 (low_h, low_w, 2) backward flow in full-resolution pixels; rois: int64 (count, 4)"
     " x, y, width, height; masks: list of C-contiguous bool arrays, one per roi."},
    {"similarity_mask_box", similarity_mask_box, METH_VARARGS,
     "similarity_mask_box(predicted, detections, n, m, mask_weight, min_similarity, tracks, dets, out):"
     " tracking.association.similarity_mask_box into out, float64 (n, m); boxes float64 xyxy."},
    {"instance_points", instance_points, METH_VARARGS,
     "instance_points(mask, (h, w), roi_x, roi_y, depth, (H, W), (cx, cy, fx, fy), erode_px, max_points,"
     " min_points, min_depth, max_depth, mad_k, min_band, cluster_gap, nearest_cluster, e1, e2, up, points,"
     " flat, heights) -> (n, valid, eroded_px, median_depth, cx, cy, cz)\n\n"
     "mask: uint8 (h, w) C-contiguous, local to the roi; depth: float32 (H, W) metres; points float64"
     " (max_points, 3), flat float32 (max_points, 2), heights float64 (max_points,) receive the first n."},
    {"encode_runs", encode_runs, METH_O,
     "encode_runs(mask) -> bytes: run lengths as little-endian uint32, background first."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef kernel_module = {PyModuleDef_HEAD_INIT, "_kernels",
                                           "Per-instance mask kernels (see kernels.c).", -1, kernel_methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&kernel_module); }

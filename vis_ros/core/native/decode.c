/*
 * The decoder's per-frame work in C (core/engine/decoder.py): score filter +
 * NMS + box conversion, then every kept detection's mask. In numpy that is
 * dozens of calls on small arrays whose fixed cost, paid on caches the engine
 * has just flushed, is most of the decoder's time; `vis-ros bench --kernels`
 * measures what this saves (docs/benchmarks.md).
 */
#include "kernels.h"

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

PyObject *vr_build_masks(PyObject *self, PyObject *args) {
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

PyObject *vr_select_detections(PyObject *self, PyObject *args) {
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

/* Mask propagation between keyframes (core/pipeline/propagation.py), in C. */
#include "kernels.h"

/*
 * Masks moved by backward optical flow (propagation.warp_mask): new(X) =
 * old(X + flow(X)), flow bilinearly upsampled from the 1/scale field (edges
 * clamped), the mask sampled bilinearly (outside it: 0) and rounded, over the
 * mask's box grown by its largest flow. OpenCV's remap quantises sample
 * positions to 1/32 pixel; this samples exactly, so edge pixels can differ
 * (test_propagation.py bounds how many).
 *
 * The region is walked in TILE x TILE blocks. Bilinear flow is a convex
 * blend of the low-res cells it reads, so the cells under a block bound
 * where all its pixels sample; when that window of the mask (plus SLACK for
 * float rounding) is all set or all clear, every pixel's answer is
 * known without sampling (a summed-area table counts the window). Only
 * blocks on the mask's edge are sampled pixel by pixel, with the same
 * arithmetic as before, so the result is the same bit for bit: 640x480, 10
 * objects, 0.62 -> 0.43-0.47 ms a frame; 1280x720, 2.0 -> 1.1-1.2 ms (blocks of 4:
 * 0.47, 1.37 ms; of 16: 0.51, 1.27 ms).
 *
 * Per mask: (x, y, width, height, mask bytes (height * width, 0/1), pixels set)
 * of the bounding box of the moved mask; width 0 when nothing is left.
 */
#define TILE 8  /* pixels per side of the blocks the region is walked in */
#define SLACK 0.01  /* pixels: far more than float32 rounding of a sample position */

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

PyObject *vr_warp_masks(PyObject *self, PyObject *args) {
    Py_buffer flow_buf, rois_buf;
    Py_ssize_t low_h, low_w, scale, height, width, count;
    PyObject *masks;
    if (!PyArg_ParseTuple(args, "y*(nn)n(nn)y*nO!", &flow_buf, &low_h, &low_w, &scale, &height, &width,
                          &rois_buf, &count, &PyList_Type, &masks))
        return NULL;
    PyObject *result = NULL, *out = NULL;
    uint8_t *scratch = NULL, *padded = NULL;
    uint32_t *table = NULL;
    int32_t *taps = NULL;
    float *rows_flow = NULL;
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
    padded = malloc((size_t)(height + 2) * (width + 2));  /* a mask (0 / 1) with a zero border */
    table = malloc(sizeof(uint32_t) * (size_t)(height + 3) * (width + 3));  /* its summed-area table */
    taps = malloc(sizeof(int32_t) * 3 * (size_t)width);  /* per region column: two cells, one weight */
    rows_flow = malloc(sizeof(float) * TILE * 2 * (size_t)(low_w + 1));  /* a block's rows of the field, blended */
    if (out == NULL || scratch == NULL || padded == NULL || table == NULL || taps == NULL || rows_flow == NULL) {
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
        const long pw = rw + 2, ph = rh + 2, tw = pw + 1;
        memset(padded, 0, (size_t)pw);
        memset(padded + (ph - 1) * pw, 0, (size_t)pw);
        for (long y = 1; y <= rh; y++) {
            uint8_t *row = padded + y * pw;
            const uint8_t *src = mask + (y - 1) * rw;
            row[0] = row[rw + 1] = 0;
            for (long x = 0; x < rw; x++) row[x + 1] = src[x] != 0;
        }
        /* table[(y + 1) * tw + x + 1]: set pixels of padded rows 0..y, columns 0..x. */
        memset(table, 0, sizeof(uint32_t) * (size_t)tw);
        for (long y = 0; y < ph; y++) {
            uint32_t run = 0;
            uint32_t *row = table + (y + 1) * tw;
            const uint32_t *above = row - tw;
            row[0] = 0;
            for (long x = 0; x < pw; x++) {
                run += padded[y * pw + x];
                row[x + 1] = above[x + 1] + run;
            }
        }
        axis_taps(x0, w, scale, low_w, col_lo, col_hi, col_w);
        const int32_t cell_first = col_lo[0], cells = col_hi[w - 1] - cell_first + 1;
        for (long ty = 0; ty < h; ty += TILE) {
            const long th = h - ty < TILE ? h - ty : TILE;
            int32_t row_lo[TILE], row_hi[TILE];
            float fy[TILE];
            for (long r = 0; r < th; r++) {
                axis_taps(y0 + ty + r, 1, scale, low_h, &row_lo[r], &row_hi[r], &fy[r]);
                /* This row of the field at low-res columns (vertical blend), per pixel below. */
                const float *top = flow + ((size_t)row_lo[r] * low_w + cell_first) * 2;
                const float *bottom = flow + ((size_t)row_hi[r] * low_w + cell_first) * 2;
                float *row_flow = rows_flow + r * 2 * (low_w + 1);
                for (int32_t c = 0; c < 2 * cells; c++) row_flow[c] = top[c] + fy[r] * (bottom[c] - top[c]);
            }
            for (long tx = 0; tx < w; tx += TILE) {
                const long tcols = w - tx < TILE ? w - tx : TILE;
                /* Where this block's pixels can sample: the cells it blends bound its flow. */
                double fx_min = INFINITY, fx_max = -INFINITY, fy_min = INFINITY, fy_max = -INFINITY;
                int finite = 1;  /* a NaN would slip past the comparisons: such blocks are sampled */
                for (long cy = row_lo[0]; cy <= row_hi[th - 1]; cy++)
                    for (long cx = col_lo[tx]; cx <= col_hi[tx + tcols - 1]; cx++) {
                        const float *f = flow + ((size_t)cy * low_w + cx) * 2;
                        finite &= f[0] - f[0] == 0.0f && f[1] - f[1] == 0.0f;
                        if (f[0] < fx_min) fx_min = f[0];
                        if (f[0] > fx_max) fx_max = f[0];
                        if (f[1] < fy_min) fy_min = f[1];
                        if (f[1] > fy_max) fy_max = f[1];
                    }
                /* Padded-mask coordinates of the first tap, SLACK each way; the last tap is one further. */
                const double u_min = (double)(x0 + tx - rx) + 1.0 + fx_min - SLACK;
                const double u_max = (double)(x0 + tx + tcols - 1 - rx) + 1.0 + fx_max + SLACK;
                const double v_min = (double)(y0 + ty - ry) + 1.0 + fy_min - SLACK;
                const double v_max = (double)(y0 + ty + th - 1 - ry) + 1.0 + fy_max + SLACK;
                int known = -1;  /* 1: every pixel set, 0: none, -1: sample each */
                if (finite && u_min > -1e6 && u_max < 1e6 && v_min > -1e6 && v_max < 1e6) {  /* not far outside */
                    const long c0 = (long)floor(u_min), c1 = (long)floor(u_max) + 1;
                    const long r0 = (long)floor(v_min), r1 = (long)floor(v_max) + 1;
                    const long k0 = c0 > 0 ? c0 : 0, k1 = c1 < pw - 1 ? c1 : pw - 1;
                    const long q0 = r0 > 0 ? r0 : 0, q1 = r1 < ph - 1 ? r1 : ph - 1;
                    const uint32_t set = k0 > k1 || q0 > q1 ? 0 :
                        table[(q1 + 1) * tw + k1 + 1] - table[q0 * tw + k1 + 1] - table[(q1 + 1) * tw + k0] + table[q0 * tw + k0];
                    if (set == 0)
                        known = 0;
                    else if (k0 == c0 && k1 == c1 && q0 == r0 && q1 == r1 && set == (uint32_t)((c1 - c0 + 1) * (r1 - r0 + 1)))
                        known = 1;
                }
                if (known >= 0) {
                    for (long r = 0; r < th; r++) memset(scratch + (ty + r) * w + tx, known, (size_t)tcols);
                    if (known) {
                        if (tx < bx0) bx0 = tx;
                        if (tx + tcols - 1 > bx1) bx1 = tx + tcols - 1;
                        if (ty < by0) by0 = ty;
                        if (ty + th - 1 > by1) by1 = ty + th - 1;
                    }
                    continue;
                }
                for (long r = 0; r < th; r++) {
                    const long y = ty + r;
                    const float *row_flow = rows_flow + r * 2 * (low_w + 1);
                    const float dy_pixel = (float)(y0 + y - ry) + 1.0f;  /* +1: the padded mask's origin */
                    uint8_t *row_out = scratch + y * w;
                    for (long x = tx; x < tx + tcols; x++) {
                        const int32_t a = 2 * (col_lo[x] - cell_first), b = 2 * (col_hi[x] - cell_first);
                        const float fx = col_w[x];
                        /* Sample position in the padded mask's pixels (float32, as the numpy path adds). */
                        const float u = (float)(x0 + x - rx) + 1.0f + (row_flow[a] + fx * (row_flow[b] - row_flow[a]));
                        const float v = dy_pixel + (row_flow[a + 1] + fx * (row_flow[b + 1] - row_flow[a + 1]));
                        uint8_t on = 0;
                        if (u >= 0.0f && v >= 0.0f && u < (float)(rw + 1) && v < (float)(rh + 1)) {
                            const long ux = (long)u, vy = (long)v;  /* >= 0: truncation is floor */
                            const uint8_t *p0 = padded + vy * pw + ux, *p1 = p0 + pw;
                            const int set = p0[0] + p0[1] + p1[0] + p1[1];
                            if (set == 4) {
                                on = 1;  /* inside the mask: every blend is 1 */
                            } else if (set > 0) {
                                const float fu = u - ux, fv = v - vy;  /* weights, needed only on the mask's edge */
                                const float value = (1.0f - fv) * ((1.0f - fu) * p0[0] + fu * p0[1]) +
                                                    fv * ((1.0f - fu) * p1[0] + fu * p1[1]);
                                on = value >= 0.5f;
                            }
                        }
                        row_out[x] = on;
                        if (on) {
                            if (x < bx0) bx0 = x;
                            if (x > bx1) bx1 = x;
                            if (y < by0) by0 = y;
                            if (y > by1) by1 = y;
                        }
                    }
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
    free(table);
    free(taps);
    free(rows_flow);
    release_buffers(2, &flow_buf, &rois_buf);
    return result;
}

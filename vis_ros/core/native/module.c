/*
 * The per-frame, per-instance work of the node that numpy does slowly, in C:
 * the decoder's selection and masks (decode.c), mask propagation by optical
 * flow (propagation.c), the tracker's Kalman filter and association
 * (tracking.c), mask run lengths (codecs.c), and depth fusion's per-instance
 * points (fusion.c).
 * Each is kept because `vis-ros bench --kernels` shows it moves a target a
 * user feels (docs/benchmarks.md); the numpy / OpenCV implementations stay
 * as the fallback and as the reference the tests hold these to.
 *
 * Only the buffer protocol is used (no numpy C API): callers pass contiguous
 * arrays and, except for the moved masks (whose size only the kernel
 * learns), the arrays results go into; every buffer's length is checked
 * against the call's sizes before anything is read or written.
 */
#include "kernels.h"

static PyMethodDef kernel_methods[] = {
    {"build_masks", vr_build_masks, METH_VARARGS,
     "build_masks(prototypes, (nm, ph, pw), coefficients, rois, count, step, offset_x, offset_y, threshold,"
     " out, areas) -> pixels written\n\n"
     "prototypes: float32 (nm, ph, pw); coefficients: float32 (count, nm); rois: int64 (count, 4)"
     " left, top, right, bottom; out: bool, every non-empty ROI's mask row-major, one after another;"
     " areas: int64 (count,) pixels set per mask."},
    {"select_detections", vr_select_detections, METH_VARARGS,
     "select_detections(raw, (rows, anchors), nc, score_threshold, nms_iou, class_agnostic, max_detections,"
     " (scale, pad_x, pad_y, source_width, source_height), anchors, boxes, scores, classes, rois,"
     " coefficients) -> K\n\n"
     "raw: float32 (4 + nc + nm, anchors); outputs hold max_detections rows, the first K are written:"
     " anchors int64, boxes float32 (x0, y0, x1, y1) in source pixels, scores float32, classes int64,"
     " rois int64 (left, top, right, bottom), coefficients float32 (nm per row)."},
    {"warp_masks", vr_warp_masks, METH_VARARGS,
     "warp_masks(flow, (low_h, low_w), scale, (height, width), rois, count, masks) -> list of"
     " (x, y, width, height, mask bytearray, pixels set)\n\n"
     "flow: float32 (low_h, low_w, 2) backward flow in full-resolution pixels; rois: int64 (count, 4)"
     " x, y, width, height; masks: list of C-contiguous bool arrays, one per roi."},
    {"kalman_predict", vr_kalman_predict, METH_VARARGS,
     "kalman_predict(means, covariances, n, dt, pos_process, vel_process, out_means, out_covariances):"
     " tracking.kalman.predict with a scalar dt; float64 (n, 8) and (n, 3, 4)."},
    {"kalman_correct_rows", vr_kalman_correct_rows, METH_VARARGS,
     "kalman_correct_rows(means, covariances, n, rows, boxes_cxcywh, k, pos_measurement): tracking.kalman.update"
     " of the k rows `rows` (int64), in place; boxes float64 (k, 4)."},
    {"similarity_mask_box", vr_similarity_mask_box, METH_VARARGS,
     "similarity_mask_box(predicted, detections, n, m, mask_weight, min_similarity, tracks, dets, out):"
     " tracking.association.similarity_mask_box into out, float64 (n, m); boxes float64 xyxy."},
    {"instance_points", vr_instance_points, METH_VARARGS,
     "instance_points(mask, (h, w), roi_x, roi_y, depth, (H, W), (cx, cy, fx, fy), erode_px, max_points,"
     " min_points, min_depth, max_depth, mad_k, min_band, cluster_gap, nearest_cluster, e1, e2, up, points,"
     " flat, heights) -> (n, valid, eroded_px, median_depth, cx, cy, cz)\n\n"
     "mask: uint8 (h, w) C-contiguous, local to the roi; depth: float32 (H, W) metres; points float64"
     " (max_points, 3), flat float32 (max_points, 2), heights float64 (max_points,) receive the first n."},
    {"encode_runs", vr_encode_runs, METH_O,
     "encode_runs(mask) -> bytes: run lengths as little-endian uint32, background first."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef kernel_module = {PyModuleDef_HEAD_INIT, "_kernels",
                                           "Per-frame kernels of vis_ros (see module.c).", -1, kernel_methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&kernel_module); }

"""The tracker's closed-form Kalman filter against the textbook matrix filter."""
import numpy as np
import pytest

from vis_ros.core.tracking import kalman

POS_MEAS, POS_PROC, VEL_PROC = 1 / 20, 1 / 4, 1.0


def _full(cov3x4: np.ndarray) -> np.ndarray:
    p = np.zeros((8, 8))
    for i in range(4):
        p[i, i], p[i + 4, i + 4] = cov3x4[kalman.PP, i], cov3x4[kalman.VV, i]
        p[i, i + 4] = p[i + 4, i] = cov3x4[kalman.PV, i]
    return p


def _matrix_predict(x, p, dt):
    f = np.eye(8)
    f[:4, 4:] = dt * np.eye(4)
    h = max(x[3], 1.0)
    q = np.diag([(POS_PROC * h) ** 2 * dt] * 4 + [(VEL_PROC * h) ** 2 * dt] * 4)
    x = f @ x
    x[2:4] = np.maximum(x[2:4], 1.0)
    return x, f @ p @ f.T + q


def _matrix_update(x, p, z):
    hm = np.hstack([np.eye(4), np.zeros((4, 4))])
    r = np.eye(4) * (POS_MEAS * max(x[3], 1.0)) ** 2
    s = hm @ p @ hm.T + r
    k = p @ hm.T @ np.linalg.inv(s)
    return x + k @ (z - hm @ x), (np.eye(8) - k @ hm) @ p


def test_closed_form_equals_the_matrix_filter_over_a_random_run():
    rng = np.random.default_rng(7)
    boxes = np.column_stack([rng.uniform(0, 640, 5), rng.uniform(0, 480, 5),
                             rng.uniform(5, 200, 5), rng.uniform(0.2, 200, 5)])  # one box below 1 px
    means, covs = kalman.initiate(boxes)
    ref = [(means[i].copy(), _full(covs[i])) for i in range(5)]
    for step in range(40):
        dt = rng.uniform(0.0, 0.2, 5)
        means, covs = kalman.predict(means, covs, dt)
        ref = [_matrix_predict(x, p, dt[i]) for i, (x, p) in enumerate(ref)]
        if step % 3 != 2:  # some frames without a measurement (coasting)
            z = means[:, :4] + rng.normal(0, 4, (5, 4))
            means, covs = kalman.update(means, covs, z)
            ref = [_matrix_update(x, p, z[i]) for i, (x, p) in enumerate(ref)]
        for i, (x, p) in enumerate(ref):
            np.testing.assert_allclose(means[i], x, rtol=1e-9, atol=1e-6)
            np.testing.assert_allclose(_full(covs[i]), p, rtol=1e-9, atol=1e-6)


def test_scalar_dt_applies_to_every_track_and_empty_input_passes_through():
    means, covs = kalman.initiate(np.array([[10.0, 10, 4, 4], [50, 50, 8, 8]]))
    means[:, 4] = [30.0, -30.0]
    moved, _ = kalman.predict(means, covs, 0.5)
    assert moved[:, 0] == pytest.approx([25.0, 35.0])
    empty = np.zeros((0, 8)), np.zeros((0, 3, 4))
    assert kalman.predict(*empty, 0.1)[0].shape == (0, 8)
    assert kalman.update(*empty, np.zeros((0, 4)))[1].shape == (0, 3, 4)


def _random_states(rng, n=12):
    boxes = np.column_stack([rng.uniform(0, 640, n), rng.uniform(0, 480, n),
                             rng.uniform(0.2, 200, n), rng.uniform(0.2, 200, n)])  # some below 1 px
    means, covs = kalman.initiate(boxes)
    means[:, 4:] = rng.normal(0, 50, (n, 4))
    covs *= rng.uniform(0.5, 2.0, covs.shape)
    means[5, 3] = np.nan  # a corrupt state stays corrupt on both paths, and alone
    return means, covs


def test_c_kernels_filter_bit_for_bit_like_numpy(compiled_kernels, monkeypatch):
    from vis_ros.core import native
    rng = np.random.default_rng(3)
    means, covs = _random_states(rng)
    for step in range(20):
        dt = float(rng.uniform(0.0, 0.2))
        rows = sorted(rng.choice(len(means), size=int(rng.integers(0, len(means))), replace=False).tolist())
        z = means[rows, :4] + rng.normal(0, 4, (len(rows), 4))
        fast_means, fast_covs = kalman.predict(means, covs, dt)
        kalman.correct_rows(fast_means, fast_covs, rows, z)
        with monkeypatch.context() as patch:
            patch.setattr(native, "kernels", None)
            slow_means, slow_covs = kalman.predict(means, covs, dt)
            kalman.correct_rows(slow_means, slow_covs, rows, z)
        assert np.array_equal(fast_means, slow_means, equal_nan=True), step
        assert np.array_equal(fast_covs, slow_covs, equal_nan=True), step
        assert np.isnan(fast_means[5]).any() and not np.isnan(np.delete(fast_means, 5, 0)).any()
        means, covs = fast_means, fast_covs


def test_correct_rows_refuses_rows_outside_the_state(kernel_path):
    means, covs = kalman.initiate(np.array([[10.0, 10, 4, 4]]))
    with pytest.raises(IndexError):
        kalman.correct_rows(means, covs, [1], np.zeros((1, 4)))


def test_the_correct_kernel_checks_rows_before_it_writes(compiled_kernels):
    means, covs = kalman.initiate(np.array([[10.0, 10, 4, 4]]))
    before = means.copy()
    with pytest.raises(IndexError, match="row 3 out of range for 1 tracks"):
        compiled_kernels.kalman_correct_rows(means, covs, 1, np.array([3]), np.zeros((1, 4)), 1, 0.05)
    assert np.array_equal(means, before)

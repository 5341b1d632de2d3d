import numpy as np
import pytest

from vis_ros.core.data.instances import Instance2D, Instance3D, InstanceFrame, PixelBox, TrackState


def _instance(**overrides):
    fields = {"track_id": 1, "class_id": 0, "class_name": "box", "score": 0.5, "state": TrackState.CONFIRMED,
              "age": 0, "box": PixelBox(2, 3, 4, 5), "mask": np.zeros((5, 4), bool)}
    fields.update(overrides)
    return Instance2D(**fields)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"track_id": 0}, "track_id must be in"),
        ({"score": 1.5}, "score must be in"),
        ({"class_id": 70000}, "class_id must be in"),
        ({"mask": np.zeros((4, 5), bool)}, "does not match box"),
        ({"mask": np.zeros((5, 4), np.uint8)}, "mask must be bool"),
        ({"state": 7}, "7 is not a valid TrackState"),
        ({"class_name": "cup\x00"}, "must not contain NUL"),
        ({"class_name": "cup\ud800"}, "not valid UTF-8"),
    ],
)
def test_instance_rejects_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        _instance(**overrides)


def test_full_mask_pastes_into_image_and_clips_at_border():
    mask = np.ones((5, 4), bool)
    inst = _instance(box=PixelBox(8, 7, 4, 5), mask=mask)
    full = inst.full_mask(10, 10)
    assert full.sum() == 2 * 3
    assert full[7:, 8:].all()


def test_frame_rejects_negative_stamp():
    with pytest.raises(ValueError, match="stamp_ns"):
        InstanceFrame(stamp_ns=-1, frame_id="cam", height=1, width=1, keyframe=True)


def test_instance3d_needs_four_quaternion_values():
    with pytest.raises(ValueError, match="orientation needs 4 values"):
        Instance3D(1, 0, "ball", 0.9, (0, 0, 1), (0, 0, 1), (1, 1, 1), (0, 0, 0), 10, 1.0)


def test_published_frame_drops_tentative_tracks_and_keeps_wanted_classes():
    frame = InstanceFrame(5, "cam", 10, 10, True, [
        _instance(track_id=1, state=TrackState.CONFIRMED),
        _instance(track_id=2, state=TrackState.TENTATIVE),
        _instance(track_id=3, state=TrackState.COASTING, class_name="cup"),
    ])
    assert [i.track_id for i in frame.published().instances] == [1, 3]
    assert [i.track_id for i in frame.published(publish_tentative=True).instances] == [1, 2, 3]
    assert [i.track_id for i in frame.published(class_names=["cup", ""]).instances] == [3]
    assert [i.track_id for i in frame.published(class_names=[""]).instances] == [1, 3]  # "": no filter
    kept = frame.published()
    assert (kept.stamp_ns, kept.frame_id, kept.height, kept.width, kept.keyframe) == (5, "cam", 10, 10, True)

"""The release's BEV encoder: RegNetY as timm builds it, TF++'s input conventions, freezing."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch
from network_fixtures import tiny_runtime

from planner.automot.bev_config import RELEASE, TRANSFUSER_TINY, RegNetDims
from planner.automot.regnet import RegNetFeatures, regnet_stages
from planner.automot.sizes import TINY
from planner.automot.transfuser import TransfuserBevEncoder
from sensors.lidar import lidar_to_bev
from sensors.sensor_config import BevConfig


def test_regnety_032_design_gives_the_published_stages():
    """RegNetY-3.2GF (Radosavovic et al. 2020, pycls/timm): widths 72/216/576/1512, depths 2/5/13/1, groups of 24."""
    stages = regnet_stages(RegNetDims())
    assert [s.width for s in stages] == [72, 216, 576, 1512]
    assert [s.depth for s in stages] == [2, 5, 13, 1]
    assert {s.group_size for s in stages} == {24}


def test_regnet_names_and_shapes_are_timm_s():
    with torch.device("meta"):  # shapes only: no 19 M-parameter initialisation
        net = RegNetFeatures(RegNetDims(), in_chans=3)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes["stem.conv.weight"] == (32, 3, 3, 3)
    assert shapes["s1.b1.conv1.conv.weight"] == (72, 32, 1, 1)
    assert shapes["s1.b1.conv2.conv.weight"] == (72, 24, 3, 3)  # 3 groups of 24
    assert shapes["s1.b1.se.fc1.weight"] == (8, 72, 1, 1)  # SE width from the block *input* (32 * 0.25)
    assert shapes["s1.b2.se.fc1.weight"] == (18, 72, 1, 1)
    assert shapes["s4.b1.downsample.conv.weight"] == (1512, 576, 1, 1)
    assert shapes["s4.b1.se.fc2.bias"] == (1512,)
    assert "s1.b2.downsample.conv.weight" not in shapes  # identity shortcut inside a stage
    assert shapes["s3.b13.conv3.bn.running_var"] == (576,) and shapes["s3.b13.conv3.bn.num_batches_tracked"] == ()
    with torch.no_grad():
        feats = net.eval()(torch.empty(1, 3, 64, 96, device="meta"))
    assert [tuple(f.shape[1:]) for f in feats] == [(32, 32, 48), (72, 16, 24), (216, 8, 12), (576, 4, 6), (1512, 2, 3)]


@pytest.mark.parametrize("in_chans", [3, 1])
def test_regnet_equals_timm_features_only(in_chans):
    """Where timm imports (it needs torchvision, which does not load here): same names, shapes, outputs."""
    timm = pytest.importorskip("timm")
    theirs = timm.create_model("regnety_032", pretrained=False, features_only=True, in_chans=in_chans).eval()
    ours = RegNetFeatures(RegNetDims(), in_chans=in_chans).eval()
    their_state = theirs.state_dict()
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in their_state.items()}
    ours.load_state_dict(their_state, strict=True)
    x = torch.randn(2, in_chans, 96, 160)
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x), strict=True):
            assert torch.allclose(a, b, atol=1e-5, rtol=1e-5)


def test_lidar_bev_reaches_the_encoder_in_tf_plus_plus_layout():
    """The project's BEV (row 0 = 32 m ahead, column 0 = 32 m left) -> TF++'s histogram
    (row = lateral bin from the left, column = longitudinal bin from behind), 'above' channel."""
    enc = TransfuserBevEncoder(TRANSFUSER_TINY, TINY.bev_camera_size, TINY.bev_grid)
    point = np.array([[10.125, 5.125, 1.0], [-20.125, -7.875, 0.1]])  # one above, one below 0.2 m
    ours = torch.from_numpy(lidar_to_bev(point, BevConfig()))[None]
    tf = enc.lidar_input(ours)[0, 0]
    assert tf.shape == (256, 256)
    (row, col), = torch.nonzero(tf).tolist()
    assert (row, col) == (int((5.125 + 32) * 4), int((10.125 + 32) * 4))  # y bin, x bin
    both = TransfuserBevEncoder(replace(TRANSFUSER_TINY, use_ground_plane=True), TINY.bev_camera_size, 8)
    below = both.lidar_input(ours)[0, 0]
    assert torch.nonzero(below).tolist() == [[int((-7.875 + 32) * 4), int((-20.125 + 32) * 4)]]
    with pytest.raises(ValueError, match=r"\[2, 256, 256\]"):
        enc.lidar_input(torch.zeros(1, 2, 64, 64))


def test_camera_is_cropped_like_the_release():
    enc = TransfuserBevEncoder(TRANSFUSER_TINY, TINY.bev_camera_size, TINY.bev_grid)
    w, h = TINY.bev_camera_size
    camera = torch.rand(1, 3, h, w)
    x = enc.camera_input(camera)
    assert x.shape == (1, 3, TRANSFUSER_TINY.cropped_height, TRANSFUSER_TINY.cropped_width)
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    assert torch.allclose(x[0], (camera[0, :, :TRANSFUSER_TINY.cropped_height] - mean) / std, atol=1e-6)
    narrow = TransfuserBevEncoder(replace(TRANSFUSER_TINY, camera_width=1024, camera_height=512, cropped_width=1000,
                                          cropped_height=RELEASE.cropped_height), (1024, 512), 8)
    crop = narrow.camera_input(torch.arange(1024.0).expand(1, 3, 512, 1024))
    assert crop.shape[-2:] == (384, 1000)  # bottom rows cut, 12 px from each side
    assert torch.isclose(crop[0, 0, 0, 0] * 0.229 + 0.485, torch.tensor(12.0))


def test_encoder_settings_are_validated_against_the_size():
    with pytest.raises(ValueError, match="bev_camera_size"):
        TransfuserBevEncoder(TRANSFUSER_TINY, (128, 64), 8)
    with pytest.raises(ValueError, match="8x8"):
        TransfuserBevEncoder(replace(TRANSFUSER_TINY, lidar_resolution=128), TINY.bev_camera_size, 8)


def test_transfuser_is_frozen_and_stays_in_eval_mode_by_default():
    net = tiny_runtime(energized=False, bev_encoder="transfuser").network
    assert all(not p.requires_grad for p in net.bev_encoder.parameters())
    net.train()
    assert net.training and not net.bev_encoder.training  # BatchNorm statistics and dropout as at inference
    trainable = tiny_runtime(energized=False, bev_encoder="transfuser", freeze_bev_encoder=False).network.train()
    assert all(p.requires_grad for p in trainable.bev_encoder.parameters()) and trainable.bev_encoder.training
    compact = tiny_runtime(energized=False).network
    assert compact.bev_encoder_name == "compact_cnn" and all(p.requires_grad for p in compact.bev_encoder.parameters())


def test_jpeg_round_trip_is_the_agent_s():
    enc = TransfuserBevEncoder(TRANSFUSER_TINY, TINY.bev_camera_size, TINY.bev_grid)
    frame = np.random.default_rng(0).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    out = enc.prepare_frame(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8 and not np.array_equal(out, frame)
    _, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))  # the agent: BGR, default quality
    assert np.array_equal(out, cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB))
    plain = TransfuserBevEncoder(replace(TRANSFUSER_TINY, jpeg_quality=None), TINY.bev_camera_size, 8)
    assert plain.prepare_frame(frame) is frame

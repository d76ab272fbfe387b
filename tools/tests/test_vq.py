"""VQ model: real aMUSEd size, diffusers key names, encode/decode contract, straight-through training."""

import io

import onnx
import pytest
import torch

from tools.editmgt.configs import vq_config
from tools.editmgt.vq import VQModel


def small_vq(**overrides) -> VQModel:
    torch.manual_seed(0)
    return VQModel(vq_config({"base": "tiny", "block_out_channels": [16, 32], "norm_num_groups": 8,
                              "latent_channels": 8, "num_vq_embeddings": 32, **overrides}))


def local_vq() -> VQModel:
    """The shipped model's kind of VQ: patch encoder, per-position norms."""
    return small_vq(norm_num_groups=0, encoder="patch")


def test_amused_config_has_released_parameter_count_and_diffusers_names():
    model = VQModel(vq_config("amused"))
    assert sum(p.numel() for p in model.parameters()) == 146_244_675
    keys = set(model.state_dict())
    for key in [
        "encoder.conv_in.weight",
        "encoder.down_blocks.0.resnets.1.conv2.bias",
        "encoder.down_blocks.1.resnets.0.conv_shortcut.weight",
        "encoder.down_blocks.3.downsamplers.0.conv.weight",
        "encoder.mid_block.resnets.1.norm2.weight",
        "encoder.conv_norm_out.bias",
        "encoder.conv_out.weight",
        "quant_conv.weight",
        "quantize.embedding.weight",
        "post_quant_conv.bias",
        "decoder.conv_in.weight",
        "decoder.mid_block.resnets.0.conv1.weight",
        "decoder.up_blocks.0.resnets.2.conv1.weight",
        "decoder.up_blocks.0.upsamplers.0.conv.weight",
        "decoder.up_blocks.4.resnets.0.conv_shortcut.weight",
        "decoder.conv_out.bias",
    ]:
        assert key in keys, key
    assert "encoder.down_blocks.4.downsamplers.0.conv.weight" not in keys
    assert "decoder.up_blocks.4.upsamplers.0.conv.weight" not in keys
    assert not any("attentions" in k for k in keys)
    assert tuple(model.state_dict()["quantize.embedding.weight"].shape) == (8192, 64)


def test_encode_gives_argmin_codebook_ids_and_decode_maps_mask_ids_to_zero():
    model = small_vq().eval()
    pixels = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        z_e, ids = model.encode(pixels)
        assert z_e.shape == (2, 8, 8, 8) and ids.shape == (2, 8, 8)
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, 8)
        expected = torch.cdist(flat, model.quantize.embedding.weight).argmin(-1).reshape(2, 8, 8)
        assert torch.equal(ids, expected)
        masked = ids.clone()
        masked[:, :4] = 32
        zeroed = ids.clone()
        zeroed[:, :4] = 0
        assert torch.equal(model.decode(masked), model.decode(zeroed))
        assert model.decode(ids).shape == (2, 3, 16, 16)


def test_straight_through_training_step_reaches_encoder_and_codebook():
    model = small_vq()
    pixels = torch.rand(1, 3, 16, 16)
    reconstruction, vq_loss, ids = model(pixels)
    assert reconstruction.shape == pixels.shape and ids.shape == (1, 8, 8)
    assert vq_loss.item() > 0
    (((reconstruction - pixels) ** 2).mean() + vq_loss).backward()
    assert model.encoder.conv_in.weight.grad.abs().sum() > 0
    assert model.quantize.embedding.weight.grad.abs().sum() > 0
    assert model.decoder.conv_out.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("make", [small_vq, local_vq])
def test_encoder_and_decoder_export_to_onnx_opset_17(make):
    model = make().eval()

    class Encode(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.vq = model

        def forward(self, pixels):
            return self.vq.encode(pixels)[1]

    class Decode(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.vq = model

        def forward(self, ids):
            return self.vq.decode(ids).clamp(0, 1)

    for graph, example in [(Encode(), torch.rand(1, 3, 16, 16)), (Decode(), torch.randint(0, 33, (1, 8, 8)))]:
        buffer = io.BytesIO()
        torch.onnx.export(graph, (example,), buffer, opset_version=17)
        onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()))


def test_patch_encoder_tokens_depend_on_their_own_patch_only():
    model = small_vq(block_out_channels=[8, 16, 24], norm_num_groups=0, encoder="patch").eval()
    assert not any(isinstance(m, torch.nn.GroupNorm) for m in model.modules())  # norms are per position
    pixels = torch.rand(1, 3, 32, 32)
    edited = pixels.clone()
    edited[:, :, 8:12, 20:24] = torch.rand(3, 4, 4)
    with torch.no_grad():
        before, _ = model.encode(pixels)
        after, _ = model.encode(edited)
    changed = (before - after).abs().amax(1)[0] > 0
    assert changed[2, 5] and int(changed.sum()) == 1

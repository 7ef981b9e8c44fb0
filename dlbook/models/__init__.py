"""Whole networks, in NumPy (``dlbook.nn``) and in torch side by side, with the same parameter
names so that a ``state_dict`` loads from one into the other. torch is imported only inside
the functions that build torch models.
"""
from dlbook.models.autoencoder import (
    VAE,
    Autoencoder,
    DenoisingAutoencoder,
    VAELoss,
    autoencoder_torch,
    denoising_autoencoder_torch,
    mask_noise,
    vae_loss_torch,
    vae_torch,
)
from dlbook.models.diffusion import (
    Denoiser,
    Schedule,
    cosine_schedule,
    ddim_sample,
    ddim_step,
    ddim_timesteps,
    ddpm_sample,
    ddpm_step,
    denoiser_step,
    denoiser_torch,
    diffusion_loss_torch,
    linear_schedule,
    q_sample,
    timestep_embedding,
    torch_eps,
)
from dlbook.models.flows import AffineCoupling, Permutation, RealNVP, coupling_mask, realnvp_torch
from dlbook.models.gan import (
    Discriminator,
    Generator,
    MappingNetwork,
    PixelNorm,
    cycle_consistency_loss,
    dcgan,
    dcgan_torch,
    discriminator_step,
    discriminator_torch,
    gan_losses_torch,
    generator_step,
    generator_torch,
    gradient_penalty,
    mapping_network_torch,
)
from dlbook.models.gpt import TinyGPT, tiny_gpt_torch
from dlbook.models.lenet import lenet5, lenet5_torch
from dlbook.models.transformer_counts import TransformerConfig, bert_params, gpt2_params

__all__ = ["TinyGPT", "TransformerConfig", "bert_params", "gpt2_params", "lenet5",
           "lenet5_torch", "tiny_gpt_torch"]
__all__ += ["VAE", "Autoencoder", "DenoisingAutoencoder", "VAELoss", "autoencoder_torch",
            "denoising_autoencoder_torch", "mask_noise", "vae_loss_torch", "vae_torch"]
__all__ += ["Discriminator", "Generator", "MappingNetwork", "PixelNorm", "cycle_consistency_loss",
            "dcgan", "dcgan_torch", "discriminator_step", "discriminator_torch", "gan_losses_torch",
            "generator_step", "generator_torch", "gradient_penalty", "mapping_network_torch"]
__all__ += ["AffineCoupling", "Permutation", "RealNVP", "coupling_mask", "realnvp_torch"]
__all__ += ["Denoiser", "Schedule", "cosine_schedule", "ddim_sample", "ddim_step", "ddim_timesteps",
            "ddpm_sample", "ddpm_step", "denoiser_step", "denoiser_torch", "diffusion_loss_torch",
            "linear_schedule", "q_sample", "timestep_embedding", "torch_eps"]

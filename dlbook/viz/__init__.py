"""dlbook.viz: matplotlib figures and ipywidgets explorers for the chapters.

matplotlib and ipywidgets are imported only inside the functions that draw; ``import dlbook``
never imports this package.
"""
from dlbook.viz.activations import (
    ACTIVATIONS,
    activation_explorer,
    curves,
    default_grid,
    plot_activation,
    plot_activation_grid,
)
from dlbook.viz.attention import attention_explorer, plot_attention
from dlbook.viz.conv import conv_explorer, plot_feature_maps, plot_filters, plot_slide, slide
from dlbook.viz.latent import (
    interpolate,
    latent_explorer,
    latent_grid,
    plot_image_grid,
    plot_image_rows,
    plot_interpolation,
    plot_latent_grid,
    plot_latent_map,
    plot_reconstructions,
)

__all__ = ["ACTIVATIONS", "activation_explorer", "curves", "default_grid", "plot_activation",
           "plot_activation_grid"]
__all__ += ["conv_explorer", "plot_feature_maps", "plot_filters", "plot_slide", "slide"]
__all__ += ["interpolate", "latent_explorer", "latent_grid", "plot_image_grid", "plot_image_rows",
            "plot_interpolation", "plot_latent_grid", "plot_latent_map", "plot_reconstructions"]
__all__ += ["attention_explorer", "plot_attention"]

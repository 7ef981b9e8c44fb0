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
from dlbook.viz.conv import conv_explorer, plot_feature_maps, plot_filters, plot_slide, slide

__all__ = ["ACTIVATIONS", "activation_explorer", "curves", "default_grid", "plot_activation",
           "plot_activation_grid"]
__all__ += ["conv_explorer", "plot_feature_maps", "plot_filters", "plot_slide", "slide"]

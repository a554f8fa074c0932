"""Methods that live in Dense layers and fold into their kernels (LoRA, DoRA, IA3): the merge interface.

A layer computes y = output(weight_output(input(x) W) + b) (plmjax.models.hooks). Merging folds each stage
into W (and b) in the same order: every method's merge_input, then merge_weight, then merge_output; unmerging
undoes them in reverse. Each takes the float32 kernel [in, out] (and bias), and the layer's method parameters
{leaf name: float32 array}.
"""

from plmjax.models.hooks import MethodHooks


class DenseMerge(MethodHooks):
    """Defaults leave the kernel as it is; a method overrides the stages it has."""

    # Leaf names of this method's parameters in a Dense module (dropped by merge, put back by unmerge).
    dense_leaves: tuple[str, ...] = ()

    def merge_input(self, kernel_path: str, leaves: dict, kernel):
        return kernel

    def merge_weight(self, kernel_path: str, leaves: dict, kernel):
        return kernel

    def merge_output(self, kernel_path: str, leaves: dict, kernel, bias):
        return kernel, bias

    def unmerge_input(self, kernel_path: str, leaves: dict, kernel):
        return kernel

    def unmerge_weight(self, kernel_path: str, leaves: dict, kernel):
        return kernel

    def unmerge_output(self, kernel_path: str, leaves: dict, kernel, bias):
        return kernel, bias

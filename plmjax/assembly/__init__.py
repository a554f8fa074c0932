"""What a run's config describes, assembled: the model (an HF directory or a preset, adapted by its PEFT
method; model.py) and the objective over it (objective.py), with the parameters they start from.

The loop (plmjax.train) runs what this builds; the data comes from plmjax.data.
"""

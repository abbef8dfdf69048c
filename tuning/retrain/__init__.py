"""The commands that train a finished search's best configuration again: ablate and confirm.

best finds the best trial and trains its configuration the way a trial trains; ablation
retrains it with each technique switched off in turn, confirm with other seeds, so a
headline is a mean and a spread rather than one run. Both write their tables beside the
search's and rebuild its page.
"""

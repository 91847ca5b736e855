"""pretrain: rebuild skllmselect's corpus and model from nothing."""

"""The network: VGG-19's layer table and forward pass (layers, model), and the weight files it is read from
(load picks the reader by the file's first bytes; matconvnet reads MatConvNet's .mat)."""

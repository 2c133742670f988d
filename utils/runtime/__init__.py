"""The runtime: the one Params and its command line, errors a user can act on, writing files
safely, and what this process runs on (device, precision, Horovod, the quiet TensorFlow
import). The lowest stage: may import model/ and dllogger/ only; TensorFlow lazily where a
command does not need it."""

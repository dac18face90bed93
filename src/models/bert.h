// Factory of the BERT encoder (src/models/bert.cpp), for the encoder registry.
#pragma once

#include <memory>

#include "wquant/models/encoder.h"

namespace wquant {

std::unique_ptr<Encoder> make_bert(const CheckpointReader& ckpt);

}  // namespace wquant

/* Internal access to the model behind an encoder (the classifier and the heads need it). */
#ifndef BMC_LIB_ENCODER_H
#define BMC_LIB_ENCODER_H

#include "biomedclip.h"

const bmc_model *bmci_image_encoder_model(const bmc_image_encoder *encoder);
const bmc_model *bmci_text_encoder_model(const bmc_text_encoder *encoder);

#endif

/* The CPKCS11 target only declares types and constants; the module itself is
 * loaded at run time with dlopen. This file exists because a C target needs at
 * least one source file. */
#include "cpkcs11.h"

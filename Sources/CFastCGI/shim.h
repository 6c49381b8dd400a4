#ifndef OTP_CFASTCGI_SHIM_H
#define OTP_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#include <fcgios.h>
#include <fastcgi.h>
#endif

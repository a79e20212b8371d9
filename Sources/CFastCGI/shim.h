#ifndef PLUGIND_CFASTCGI_SHIM_H
#define PLUGIND_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#endif

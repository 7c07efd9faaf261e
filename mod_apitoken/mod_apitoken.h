/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef MOD_APITOKEN_H
#define MOD_APITOKEN_H
#endif

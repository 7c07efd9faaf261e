/* Licensed under the Apache License, Version 2.0 (see COPYING). */
int main(void) { return 0; }

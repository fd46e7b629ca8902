/* man_settings.c - prints the ENVIRONMENT entries of streamer-fcgi(8) from the settings table (run by make). */
#include <stdio.h>

#include "config.h"

int main(void)
{
	config_usage_man(stdout);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

from tenantsync.cli import main

main()

# Example: run fleet-app 1.0.0-1 on this node; written by venvpkg.
# Set the version per group of nodes (Hiera: fleet_app::version) to roll
# out in batches, and set it back to roll back.
class { 'fleet_app':
  version     => '1.0.0-1',
  rpm_version => '1.0.0-1',
}

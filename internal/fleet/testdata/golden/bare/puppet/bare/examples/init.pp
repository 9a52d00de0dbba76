# Example: run bare 0.4-2 on this node; written by venvpkg.
# Set the version per group of nodes (Hiera: bare::version) to roll
# out in batches, and set it back to roll back.
class { 'bare':
  version     => '0.4-2',
  rpm_version => '0.4-2',
}

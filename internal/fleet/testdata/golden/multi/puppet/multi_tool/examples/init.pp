# Example: run multi-tool 2.1~rc1-3 on this node; written by venvpkg.
# Set the version per group of nodes (Hiera: multi_tool::version) to roll
# out in batches, and set it back to roll back.
class { 'multi_tool':
  version     => '2.1~rc1-3',
  rpm_version => '2.1~rc1-3',
}

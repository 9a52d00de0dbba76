# @summary Installs multi-tool from its signed package repository, writes its
#   configuration and keeps its services running; written by venvpkg.
#
# The package is pinned to one version, so changing $version rolls a node
# forward or back. Services restart only when the package or one of their
# configuration files changed, and a health check runs after every restart.
#
# @param version
#   The Debian version apt installs on Debian-family nodes.
# @param rpm_version
#   The RPM version-release dnf installs on RedHat-family nodes.
# @param repo_url
#   The root of the repository venvpkg publish writes (APT under apt/, YUM
#   under rpm/<suite>/).
# @param repo_suite
#   The APT suite and YUM repository name.
# @param repo_component
#   The APT component.
# @param config_style
#   'file' writes each configuration file from its template; 'dropin' keeps
#   the packaged default and writes <path>.d/50-site<ext> next to it.
# @param manage_services
#   Enable, start and restart the systemd units.
# @param health_check
#   'http' requests each service's listen address, 'systemd' wants each unit
#   active, 'command' runs $health_command, 'none' skips the check.
# @param health_command
#   The command of the 'command' health check.
class multi_tool (
  String[1] $version = '2.1~rc1-3',
  String[1] $rpm_version = '2.1~rc1-3',
  String[1] $repo_url = 'http://10.0.0.5:8080/repo',
  String[1] $repo_suite = 'prod',
  String[1] $repo_component = 'services',
  Enum['file', 'dropin'] $config_style = 'file',
  Boolean $manage_services = true,
  Enum['http', 'systemd', 'command', 'none'] $health_check = 'systemd',
  String[1] $health_command = '/srv/multi/bin/python -c \'import sys\'',
) {
  case $facts['os']['family'] {
    'Debian': {
      file { '/etc/apt/keyrings':
        ensure => directory,
        owner  => 'root',
        group  => 'root',
        mode   => '0755',
      }
      file { '/etc/apt/keyrings/multi-tool.asc':
        ensure => file,
        source => 'puppet:///modules/multi_tool/multi-tool.asc',
        owner  => 'root',
        group  => 'root',
        mode   => '0644',
      }
      apt::source { 'multi-tool':
        location => "${repo_url}/apt",
        release  => $repo_suite,
        repos    => $repo_component,
        keyring  => '/etc/apt/keyrings/multi-tool.asc',
        require  => File['/etc/apt/keyrings/multi-tool.asc'],
      }
      $package_ensure = $version
      $install_options = ['--allow-downgrades']
      Class['apt::update'] -> Package['multi-tool']
    }
    'RedHat': {
      file { '/etc/pki/rpm-gpg/RPM-GPG-KEY-multi-tool':
        ensure => file,
        source => 'puppet:///modules/multi_tool/multi-tool.asc',
        owner  => 'root',
        group  => 'root',
        mode   => '0644',
      }
      yumrepo { 'multi-tool':
        descr         => 'multi-tool packages published by venvpkg',
        baseurl       => "${repo_url}/rpm/${repo_suite}",
        enabled       => '1',
        gpgcheck      => '1',
        repo_gpgcheck => '1',
        gpgkey        => 'file:///etc/pki/rpm-gpg/RPM-GPG-KEY-multi-tool',
        require       => File['/etc/pki/rpm-gpg/RPM-GPG-KEY-multi-tool'],
        before        => Package['multi-tool'],
      }
      $package_ensure = $rpm_version
      $install_options = []
    }
    default: {
      fail("multi_tool: ${facts['os']['family']} is not supported; the repository serves Debian and RedHat families")
    }
  }

  package { 'multi-tool':
    ensure          => $package_ensure,
    install_options => $install_options,
  }

  $config_etc_multi_tool_templates_conf = $config_style ? {
    'dropin' => '/etc/multi.tool/templates.conf.d/50-site.conf',
    default  => '/etc/multi.tool/templates.conf',
  }
  if $config_style == 'dropin' {
    file { '/etc/multi.tool/templates.conf.d':
      ensure  => directory,
      owner   => 'root',
      group   => 'root',
      mode    => '0755',
      require => Package['multi-tool'],
    }
  }
  file { $config_etc_multi_tool_templates_conf:
    ensure  => file,
    content => epp('multi_tool/etc/multi.tool/templates.conf.epp'),
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    require => Package['multi-tool'],
  }

  $config_etc_multi_tool_web_ini = $config_style ? {
    'dropin' => '/etc/multi.tool/web.ini.d/50-site.ini',
    default  => '/etc/multi.tool/web.ini',
  }
  if $config_style == 'dropin' {
    file { '/etc/multi.tool/web.ini.d':
      ensure  => directory,
      owner   => 'root',
      group   => 'worker',
      mode    => '0755',
      require => Package['multi-tool'],
    }
  }
  file { $config_etc_multi_tool_web_ini:
    ensure  => file,
    content => epp('multi_tool/etc/multi.tool/web.ini.epp'),
    owner   => 'worker',
    group   => 'worker',
    mode    => '0600',
    require => Package['multi-tool'],
  }

  if $manage_services {
    service { 'multi-tool-web.socket':
      ensure    => running,
      enable    => true,
      subscribe => Package['multi-tool'],
      before    => Service['multi-tool-web.service'],
    }
    service { 'multi-tool-web.service':
      ensure    => running,
      enable    => true,
      subscribe => [Package['multi-tool'], File[$config_etc_multi_tool_templates_conf], File[$config_etc_multi_tool_web_ini]],
    }
    service { 'multi-tool-worker.service':
      ensure    => running,
      enable    => true,
      subscribe => [Package['multi-tool'], File[$config_etc_multi_tool_templates_conf], File[$config_etc_multi_tool_web_ini]],
    }
    if $health_check != 'none' {
      exec { 'multi-tool-web.service health check':
        command     => $health_check ? {
          'http'    => '/srv/multi/bin/python -c \'import http.client, socket, sys; c = http.client.HTTPConnection("localhost", timeout=5); c.sock = socket.socket(socket.AF_UNIX); c.sock.connect(sys.argv[1]); c.request("GET", "/"); sys.exit(c.getresponse().status >= 400)\' /run/multi.tool/web.sock',
          'systemd' => '/bin/systemctl is-active --quiet multi-tool-web.service',
          default   => $health_command,
        },
        path        => ['/usr/bin', '/bin'],
        refreshonly => true,
        tries       => 10,
        try_sleep   => 3,
        subscribe   => Service['multi-tool-web.service'],
      }
    }
    if $health_check != 'none' {
      exec { 'multi-tool-worker.service health check':
        command     => $health_check ? {
          'http'    => '/bin/systemctl is-active --quiet multi-tool-worker.service',
          'systemd' => '/bin/systemctl is-active --quiet multi-tool-worker.service',
          default   => $health_command,
        },
        path        => ['/usr/bin', '/bin'],
        refreshonly => true,
        tries       => 10,
        try_sleep   => 3,
        subscribe   => Service['multi-tool-worker.service'],
      }
    }
  }
}

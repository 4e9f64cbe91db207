from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "xianfeng.jobs"
    label = "jobs"
    verbose_name = "后台任务"
    url_prefix = "jobs/"  # xianfeng/urls.py mounts this app's urls.py here

    def ready(self) -> None:
        # Every app declares its jobs in <app>/jobs.py; importing those modules fills the registry.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("jobs")
